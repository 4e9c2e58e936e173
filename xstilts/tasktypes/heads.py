"""The head modules several task types share: jiant's classification head on the first token (classification,
regression, multiple choice) and a per-token linear layer (tagging, span QA)."""
from __future__ import annotations

import torch
from torch import nn


class ClassificationHead(nn.Module):
    """Dropout, dense, tanh, dropout, linear on the first token (jiant's, and RoBERTa's ``classifier``)."""

    def __init__(self, hidden: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, num_labels)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        x = self.dropout(sequence[:, 0])
        x = torch.tanh(self.dense(x))
        return self.out_proj(self.dropout(x))


class TokenHead(nn.Module):
    """Per-token linear layer: tagging (num_labels classes) and span QA (2 = start/end logits)."""

    def __init__(self, hidden: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden, num_labels)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.dropout(sequence))
