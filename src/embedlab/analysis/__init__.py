"""Analysis of vector spaces: bias measurement and debiasing, dimensionality, projections."""
