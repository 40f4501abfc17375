"""A figure of validation scenes: input, GT and predicted label maps with
class names (wrong names in red, unseen classes marked with ``*``)."""
from typing import Dict, Sequence

import numpy as np

from .world import COLOURS, ToyWorld


def _label_image(world: ToyWorld, labels: np.ndarray) -> np.ndarray:
    """(H, W) labels -> (H, W, 3) uint8, each class in its colour."""
    palette = np.asarray(list(COLOURS.values()), np.uint8)
    colours = np.asarray([world.attributes(c)[0]
                          for c in range(world.num_classes)])
    return palette[colours[np.clip(labels, 0, world.num_classes - 1)]]


def _name_regions(ax, world: ToyWorld, labels: np.ndarray,
                  gt: np.ndarray) -> None:
    """Write every class name of ``labels`` at its largest GT-aligned
    region, red where it disagrees with the GT there."""
    unseen = set(world.unseen_classes)
    for region in np.unique(gt):
        inside = gt == region
        predicted = np.bincount(labels[inside]).argmax()
        ys, xs = np.nonzero(inside)
        k = np.argmin((ys - ys.mean())**2 + (xs - xs.mean())**2)
        name = world.class_names[predicted] + (
            '*' if predicted in unseen else '')
        ax.text(xs[k], ys[k], name.replace(' ', '\n'), ha='center',
                va='center', fontsize=6,
                color='black' if predicted == region else 'red',
                bbox=dict(facecolor='white', alpha=0.7, pad=1,
                          edgecolor='none'))


def save_prediction_figure(path: str, world: ToyWorld,
                           images: Sequence[np.ndarray],
                           gts: Sequence[np.ndarray],
                           predictions: Dict[str, Sequence[np.ndarray]]
                           ) -> None:
    """One row per scene: the RGB input, the GT and one column per entry of
    ``predictions`` (column title -> one (H, W) label map per scene)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    columns = ['input', 'ground truth'] + list(predictions)
    fig, axes = plt.subplots(
        len(images), len(columns), squeeze=False,
        figsize=(2.0 * len(columns), 2.0 * len(images)))
    for row, (image, gt) in enumerate(zip(images, gts)):
        maps = [None, gt] + [p[row] for p in predictions.values()]
        for col, (ax, labels) in enumerate(zip(axes[row], maps)):
            if labels is None:
                ax.imshow(image, interpolation='nearest')
            else:
                ax.imshow(_label_image(world, labels),
                          interpolation='nearest')
                _name_regions(ax, world, labels, gt)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(columns[col], fontsize=8)
    fig.suptitle('toy world validation scenes (* unseen class, red: wrong)',
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
