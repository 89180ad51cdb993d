"""Scoring vectors on public benchmarks: analogies (Google) and word-pair similarity (WordSim-353, SimLex-999).

One implementation shared by every trainer and encoder; numbers match gensim's for the same vectors.
"""

from .analogy import AnalogyResult, SectionScore, evaluate_analogies
from .datasets import test_file
from .retrieval import mrr, ndcg_at_k, recall_at_k, retrieval_scores
from .similarity import PairResult, evaluate_word_pairs

__all__ = ["AnalogyResult", "SectionScore", "PairResult", "evaluate_analogies", "evaluate_word_pairs", "test_file",
           "mrr", "ndcg_at_k", "recall_at_k", "retrieval_scores"]
