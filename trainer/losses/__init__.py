"""The training objective's terms, one per module (El-Nouby et al. 2021, section 3)."""

from trainer.losses.contrastive_loss import ContrastiveLoss
from trainer.losses.koleo_loss import KoLeoLoss
from trainer.losses.xbm import CrossBatchMemory

__all__ = ["ContrastiveLoss", "CrossBatchMemory", "KoLeoLoss"]
