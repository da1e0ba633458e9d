"""A scenario added from outside the load benchmark, as the large-array scenarios are."""

from benchmarks.load.scenarios import PREDICTORS, Scenario, json_request, register

register(
    Scenario(
        name="plugin-null",
        description="the null predictor, registered by a plugin module",
        predictor_dir=PREDICTORS / "null",
        input_schema={
            "title": "Input",
            "type": "object",
            "properties": {"n": {"default": 0, "title": "N", "type": "integer", "x-order": 0}},
        },
        output_schema={"title": "Output", "type": "integer"},
        concurrency=2,
        request=lambda: json_request({"n": 2}),
    )
)
