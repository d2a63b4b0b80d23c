r"""The four second-order products of :class:`~refimpl.cgd.gan.GANGame`, forward over reverse.

Each takes the game, its cached forward pass ``c`` at (x, y) (the traces of G on the
noise and of D on the real and fake samples, the score cotangents φ'(s)/B and
curvatures φ''(s)/B) and one direction, and returns the product for f (the game
flips the sign for g = −f). See ``docs/derivations/gan.md``, section 2.

References
----------
.. [1] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", 1994.
"""

from __future__ import annotations

__all__: list[str] = []


def dxy(game, c, x, y, v):
    """D_xy f·v: tangent θ̇_D = v through D's reverse pass at the fakes, then back through G."""
    tangent = game.discriminator._trace(y, c["fake"], dtheta=v)
    ds = tangent.output_tangent
    back = tangent._backward(c["cot_fake"], c["curv_fake"] * ds)
    return c["G"]._backward(back.input_tangent).theta


def dyx(game, c, x, y, u):
    """D_yx f·u: G's tangent moves the fakes by J_G u; D's tangent reverse pass gives the answer."""
    dfake = game.generator._trace(x, game.noise, dtheta=u).output_tangent
    tangent = game.discriminator._trace(y, c["fake"], dX=dfake)
    back = tangent._backward(c["cot_fake"], c["curv_fake"] * tangent.output_tangent)
    return back.theta_tangent


def dxx(game, c, x, y, u):
    """D_xx f·u: as D_yx f·u, then the tangent of G's reverse pass as well."""
    G = game.generator._trace(x, game.noise, dtheta=u)
    tangent = game.discriminator._trace(y, c["fake"], dX=G.output_tangent)
    back = tangent._backward(c["cot_fake"], c["curv_fake"] * tangent.output_tangent)
    return G._backward(back.input, back.input_tangent).theta_tangent


def dyy(game, c, x, y, v):
    """D_yy f·v: D's tangent reverse pass along θ̇_D = v, on the real and on the fake samples."""
    total = 0.0
    for samples, cot, curv in (
        (game.real, c["cot_real"], c["curv_real"]),
        (c["fake"], c["cot_fake"], c["curv_fake"]),
    ):
        tangent = game.discriminator._trace(y, samples, dtheta=v)
        total = total + tangent._backward(cot, curv * tangent.output_tangent).theta_tangent
    return total
