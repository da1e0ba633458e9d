import os
import tempfile

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="What to write")) -> Path:
        path = os.path.join(tempfile.mkdtemp(), "out.txt")
        with open(path, "w") as f:
            f.write(text)
        return Path(path)
