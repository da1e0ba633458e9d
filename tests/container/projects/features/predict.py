import json
import os
import subprocess
import tempfile

import six  # installed only in the image: the schema is generated there

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(self, name: str = Input(description="Written into the report")) -> Path:
        # six comes from python_packages (the package index), jq from system_packages (apt).
        jq = subprocess.run(
            ["jq", "-c", ".name"], input=json.dumps({"name": name}), capture_output=True, text=True
        )
        report = {"six": six.__version__, "jq": jq.stdout.strip(), "cwd": os.getcwd()}
        path = os.path.join(tempfile.mkdtemp(), "report.json")
        with open(path, "w") as f:
            json.dump(report, f)
        return Path(path)
