"""What a sandbox of the data runtime does before it is given a run (the entry imports this
with preload=, in its supervisor, while the sandbox waits): the heavy imports and the work a
first plot would otherwise do (Agg, the font list, the fonts themselves), so that a script's
own `import pandas` and first figure cost next to nothing. The sandbox is still empty of any
user data here, and serves exactly one run after this.
"""

import matplotlib.pyplot as plt
import numpy  # noqa: F401
import pandas

_frame = pandas.DataFrame({"x": [1, 2, 3], "y": [1.0, 4.0, 9.0]})
_figure, _axes = plt.subplots()
_frame.plot(x="x", y="y", ax=_axes, title="warm-up", marker="o")
_axes.set_xlabel("x")
_figure.canvas.draw()
plt.close("all")
del _frame, _figure, _axes
