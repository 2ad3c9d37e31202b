"""A matplotlib backend for a sandbox: draws with Agg, and ``plt.show()`` saves every open
figure as ``figure-1.png``, ``figure-2.png``, ... in the working directory, whose new files
the run returns. Plotting code copied from a notebook then just works; ``savefig`` does too.

Numbers follow the order figures are shown in, across calls to ``show``; a figure is saved
once, when it is first shown, and closed after it (as show() closes them in a notebook).
"""

import itertools

from matplotlib.backend_bases import _Backend
from matplotlib.backends.backend_agg import FigureCanvasAgg, _BackendAgg

_numbers = itertools.count(1)
NAME = "figure-{number}.png"
DPI = 100


class FigureCanvas(FigureCanvasAgg):
    pass


@_Backend.export
class _BackendIntegr8sCode(_BackendAgg):
    FigureCanvas = FigureCanvas

    @classmethod
    def show(cls, *args, **kwargs):
        from matplotlib import pyplot
        from matplotlib._pylab_helpers import Gcf

        for manager in Gcf.get_all_fig_managers():
            manager.canvas.figure.savefig(NAME.format(number=next(_numbers)), dpi=DPI)
        pyplot.close("all")
