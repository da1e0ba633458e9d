"""A model that reports what its inputs look like inside predict()."""

from cog import BasePredictor, Path, Secret


class Predictor(BasePredictor):
    def predict(self, image: Path, scale: float, token: Secret) -> dict:
        return {
            "image_type": type(image).__name__,
            "image_text": image.read_text(),
            "scale_type": type(scale).__name__,
            "token_type": type(token).__name__,
            "token": token.get_secret_value(),
        }
