import os
import tempfile

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(
        self,
        text: str = Input(description="What to write"),
        count: int = Input(default=2, ge=1, le=5, description="How many files"),
    ) -> list[Path]:
        folder = tempfile.mkdtemp()
        paths = []
        for i in range(count):
            path = os.path.join(folder, f"out{i}.txt")
            with open(path, "w") as f:
                f.write(f"{text} {i}")
            paths.append(Path(path))
        return paths
