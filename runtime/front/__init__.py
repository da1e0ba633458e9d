"""The HTTP front: a granian RSGI app that owns every prediction's state (spec section 3)."""

from cog.runtime.front.app import FrontApp

__all__ = ["FrontApp"]
