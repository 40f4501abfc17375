"""Eq. 4: combining CLIP's class probabilities with the generator's.

For a test class i that the mask generator was trained on (i in K),
P(i) = P_s(i)^gamma * P_c(i)^(1 - gamma); for any other class P(i) = P_c(i).
P_c are MaskCLIP++'s probabilities over the test classes, P_s the
generator's over its own classes (void removed and renormalised) carried
over to the test classes.

Classes are matched by exact synonym equality. The official implementation
gives each generator class to the *first* matching test class only and
scatters raw logits (unmatched test classes keep logit 0, which still enters
its softmax); here matches are explicit in both directions:

* one test class matching several generator classes (one-to-many) gets the
  sum of their probabilities;
* one generator class matching several test classes (many-to-one) shares
  its probability equally between them.

So P_s sums to the probability of the matched generator classes, and
nothing depends on class order.

Which test classes are *seen* (the set K) depends on the generator. A
closed-vocabulary generator (COCO Mask2Former) knows only its training
classes: K is the test classes it matches. An open-vocabulary generator
(FC-CLIP, MAFT+) scores every test class, so matching says nothing: K is
then given explicitly (``seen``), as the official ``_ens`` configs do with
the overlap of the test classes with the generator's training set (their
``DATASETS.TRAIN``). Either way a class outside K keeps CLIP's probability.

After Eq. 4 the scores are renormalised and
the generator's void probability v enters as in the official code:
final = [P * (1 - v), v].
"""
from typing import Optional, Sequence

import torch
from torch import Tensor

from mmseg_maskclippp.vocabulary import Vocabulary


class GeometricEnsemble:
    """Eq. 4 between a test vocabulary and a generator's vocabulary.

    Args:
        test_vocabulary: the K classes being predicted.
        generator_vocabulary: the K_g classes of the generator's logits.
        gamma: exponent of the generator probability on seen classes
            (0: CLIP only; 1: the generator alone on seen classes).
        seen: (K,) bools, the test classes whose generator probability
            enters (only those the generator matches count); default: all
            matched classes (right for a closed-vocabulary generator).
    """

    def __init__(self,
                 test_vocabulary: Vocabulary,
                 generator_vocabulary: Vocabulary,
                 gamma: float,
                 seen: Optional[Sequence[bool]] = None):
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f'gamma must lie in [0, 1], got {gamma}')
        if seen is not None and len(seen) != len(test_vocabulary):
            raise ValueError(f'seen has {len(seen)} entries for '
                             f'{len(test_vocabulary)} test classes')
        self.gamma = gamma
        matches = generator_vocabulary.match(test_vocabulary)
        share = torch.zeros(len(generator_vocabulary), len(test_vocabulary))
        for g, test_classes in enumerate(matches):
            if test_classes:
                share[g, test_classes] = 1.0 / len(test_classes)
        #: (K_g, K): fraction of generator class g given to test class i
        self.share = share
        #: (K,) bool: the set K of Eq. 4, test classes the generator knows
        #: (and that are seen, when ``seen`` is given)
        self.matched = share.sum(0) > 0
        if seen is not None:
            self.matched &= torch.as_tensor(list(seen), dtype=torch.bool)

    def generator_probs(self, logits: Tensor) -> Tensor:
        """(Q, K_g + 1) generator logits -> P_s over the test classes
        (Q, K), void removed and the rest renormalised."""
        probs = logits.softmax(-1)[:, :-1]
        probs = probs / probs.sum(-1, keepdim=True).clamp_min(1e-12)
        return probs @ self.share.to(probs)

    def __call__(self, clip_logits: Tensor,
                 generator_logits: Optional[Tensor]) -> Tensor:
        """Final class scores.

        Args:
            clip_logits: (Q, K) MaskCLIP++ logits over the test classes.
            generator_logits: (Q, K_g + 1) generator logits (void last).

        Returns:
            (Q, K + 1) probabilities, void last, rows summing to 1.
        """
        p_clip = clip_logits.softmax(-1)
        if self.gamma > 0:
            p_gen = self.generator_probs(generator_logits)
            matched = self.matched.to(p_clip.device)
            mixed = p_gen.pow(self.gamma) * p_clip.pow(1 - self.gamma)
            p_clip = torch.where(matched, mixed, p_clip)
            p_clip = p_clip / p_clip.sum(-1, keepdim=True).clamp_min(1e-12)
        void = generator_logits.softmax(-1)[:, -1:]
        return torch.cat([p_clip * (1 - void), void], dim=-1)
