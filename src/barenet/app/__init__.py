"""The draw-a-digit app (``barenet draw``).

- :mod:`~barenet.app.board`: the off-screen drawing, stroke by stroke;
- :mod:`~barenet.app.network`: the model's stages and their activations;
- :mod:`~barenet.app.state`: what the window shows, recomputed from the drawing;
- :mod:`~barenet.app.window`: the Tk window (the only module that imports tkinter).

Everything but :mod:`~barenet.app.window` runs and is tested without a display.
"""
