from .reweighted_ce import ReweightedCrossEntropyLoss, mask_loss_weights

__all__ = ['ReweightedCrossEntropyLoss', 'mask_loss_weights']
