"""Panoptic and instance post-processing on hand-made masks, against the
rules of the official implementation (fact sheet section 6.3)."""
import torch

from mmseg_maskclippp.models.postprocessing import (INSTANCE_OFFSET,
                                                    instance_inference,
                                                    panoptic_inference)

PERSON, SKY, GRASS = 0, 1, 2
K = 3
VOID = K
IS_THING = torch.tensor([True, False, False])


def panoptic_case():
    """Six masks on a 4 x 6 image; class scores over K + 1 (void last).

    - A, person (0.9): 0.9 on columns 0-1, 0.3 elsewhere (weak background)
    - B, sky (0.95): 0.8 on columns 2-3, 0.2 elsewhere
    - C, person (0.9): 0.6 on columns 0-1 and 1.0 at (0, 2): it owns (0, 2)
      only, 1 of its 9 pixels >= 0.5, so it is dropped (overlap test)
    - F, sky (0.95): 1.0 at (3, 5), merged with B's sky segment
    - D, void first, and E, best score 0.4 < 0.5: never kept, though their
      masks are 1.0 everywhere
    """
    masks = torch.zeros(6, 4, 6)
    masks[0] = 0.3
    masks[0, :, 0:2] = 0.9
    masks[1] = 0.2
    masks[1, :, 2:4] = 0.8
    masks[2] = 0.1
    masks[2, :, 0:2] = 0.6
    masks[2, 0, 2] = 1.0
    masks[3, 3, 5] = 1.0
    masks[4] = 1.0
    masks[5] = 1.0
    scores = torch.tensor([
        [0.90, 0.05, 0.05, 0.00],  # A person
        [0.02, 0.95, 0.03, 0.00],  # B sky
        [0.90, 0.05, 0.05, 0.00],  # C person
        [0.02, 0.95, 0.03, 0.00],  # F sky
        [0.05, 0.05, 0.00, 0.90],  # D void
        [0.40, 0.30, 0.30, 0.00],  # E below the threshold
    ])
    return scores, masks


def test_panoptic_paints_only_owned_pixels_of_mask_at_least_half():
    scores, masks = panoptic_case()
    panoptic = panoptic_inference(
        scores, masks, K, IS_THING, object_mask_threshold=0.5,
        overlap_threshold=0.8)
    person = PERSON + 1 * INSTANCE_OFFSET
    # A owns columns 4-5 too (0.9 * 0.3 beats 0.95 * 0.2), but its mask is
    # < 0.5 there: void. (0, 2) belongs to the dropped C: void.
    expected = torch.tensor([
        [person, person, VOID, SKY, VOID, VOID],
        [person, person, SKY, SKY, VOID, VOID],
        [person, person, SKY, SKY, VOID, VOID],
        [person, person, SKY, SKY, VOID, SKY],
    ])
    assert torch.equal(panoptic, expected)


def test_panoptic_drops_a_mask_that_loses_its_pixels():
    """C alone is kept and painted; beside A it owns 1 of its 9 pixels."""
    scores, masks = panoptic_case()
    alone = panoptic_inference(scores[2:3], masks[2:3], K, IS_THING, 0.5,
                               0.8)
    assert int((alone == PERSON + INSTANCE_OFFSET).sum()) == 9
    both = panoptic_inference(scores[[0, 2]], masks[[0, 2]], K, IS_THING,
                              0.5, 0.8)
    assert set(both.unique().tolist()) == {PERSON + INSTANCE_OFFSET, VOID}
    assert int((both == PERSON + INSTANCE_OFFSET).sum()) == 8
    # with no overlap requirement C keeps the one pixel it owns
    lax = panoptic_inference(scores[[0, 2]], masks[[0, 2]], K, IS_THING,
                             0.5, 0.0)
    assert int(lax[0, 2]) == PERSON + 2 * INSTANCE_OFFSET


def test_instance_scores_are_class_times_mean_mask_inside():
    """Top-k over Q x K class probabilities (void dropped), stuff pairs
    removed; score = class probability * mean mask value where > 0.5."""
    scores, masks = panoptic_case()
    result = instance_inference(scores, masks, K, IS_THING, max_per_image=4)
    # the 4 best pairs: (A|C, person) 0.9, (B|F, sky) 0.95; stuff removed
    assert result.labels.tolist() == [PERSON, PERSON]
    order = result.scores.argsort(descending=True)
    # A: mean of 0.9 over its 8 pixels; C: (8 * 0.6 + 1.0) / 9
    expected = torch.tensor([0.9 * 0.9, 0.9 * (8 * 0.6 + 1.0) / 9])
    torch.testing.assert_close(result.scores[order], expected)
    assert result.masks.shape == (2, 4, 6)
    assert int(result.masks[order[0]].sum()) == 8
    assert int(result.masks[order[1]].sum()) == 9
