"""What a sandbox of the data runtime does before it is given a run (the entry imports this
with preload=, in its supervisor, while the sandbox waits): the heavy imports and the work a
first plot would otherwise do (Agg, the font list, the fonts themselves), so that a script's
own `import pandas` and first figure cost next to nothing. The sandbox is still empty of any
user data here, and serves exactly one run after this.
"""

import io

import matplotlib.pyplot as plt
import numpy  # noqa: F401
import pandas
from integr8scode_figures import DPI


def _warm_up():
    """A small day of data work, on made-up numbers: what pandas and matplotlib load or build
    lazily the first time (CSV reading and writing, group statistics, a pivot plotted with a
    legend, tick labels, PNG encoding) is done here, once for every run the template forks."""
    frame = pandas.read_csv(io.StringIO("k,g,v\n1,a,1.5\n2,b,2.5\n3,a,3.5\n2,a,4.0\n"))
    frame.groupby("g")["v"].describe().to_string()
    frame.groupby("g").mean().to_csv(io.StringIO())
    figure, axes = plt.subplots()
    frame.pivot_table(index="k", columns="g", values="v").plot(ax=axes, title="warm-up", marker="o")
    axes.set_xlabel("k")
    figure.savefig(io.BytesIO(), format="png", dpi=DPI)
    plt.close("all")


_warm_up()
