"""Categories as numbers, and why that is not enough: ``LabelTransformer`` and ``OneHotTransformer``.

Both are scikit-learn-style transformers (``fit`` / ``transform``), named so by CONTRIBUTING.md's "Names".

* Label codes invent an order: ``action=0, comedy=1, drama=2, sci-fi=3`` makes comedy "closer" to action than
  sci-fi is, although the alphabet decided that, not the films.
* One-hot vectors are mutually orthogonal: cosine("action", "sci-fi") is exactly 0, the same as
  cosine("action", "romance"); the encoding knows nothing about similarity.

Both are honest baselines; learned entity embeddings (``embedlab.train.entity.EntityEmbedding``) fix it.
``OneHotTransformer`` also takes several categories per item (multi-hot, e.g. a film's genres).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._compat import renamed
from ..errors import InputError, UnknownKeyError, not_fitted

# Duck-typed scikit-learn estimators (get_params / set_params / fit / transform, and __sklearn_tags__): they drop
# into Pipelines and sklearn.base.clone without importing scikit-learn here (about 1 s; the encoder registry imports
# this module on listing). scikit-learn is imported only when it asks for the tags, or for the NotFittedError.


def _labels(values: Any, what: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InputError(f"{what} expects a list of categories, got {type(values).__name__}")
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise InputError(f"{what} expects a 1-D list of categories, got an array of shape {values.shape}; "
                             "for several categories per item pass a list of lists")
        values = list(values.astype(object))
    else:
        values = list(values)
    if not values:
        raise InputError(f"{what}: no categories given; pass at least one")
    return values


def _sorted_unique(values: Iterable[Any]) -> np.ndarray:
    uniq = set(values)
    try:
        return np.array(sorted(uniq), dtype=object)
    except TypeError as exc:
        raise InputError(f"categories must be mutually comparable (all str or all numbers): {exc}") from exc


class _Fitted:
    """What both transformers share: scikit-learn's parameter protocol and the fitted categories."""

    _param_names: tuple[str, ...] = ()
    classes_: np.ndarray  # set by ``fit``: the categories, sorted (object array)
    _lookup: dict[Any, int] | None = None

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters (scikit-learn's ``get_params``).

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn compatibility (there are no nested estimators).

        Returns
        -------
        dict
            ``{name: value}`` of each constructor parameter.
        """
        return {k: getattr(self, k) for k in self._param_names}

    def set_params(self, **params: Any) -> _Fitted:
        """Change constructor parameters (scikit-learn's ``set_params``).

        Parameters
        ----------
        **params
            ``name=value`` for constructor parameters.

        Returns
        -------
        self
            The same transformer.

        Raises
        ------
        InputError
            For a name that is not a constructor parameter.
        """
        for k, v in params.items():
            if k not in self._param_names:
                raise InputError(f"{type(self).__name__} has no parameter {k!r}; parameters: {self._param_names}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags: a 1-D list of categories (str, numbers, or collections of them) in.

        Returns
        -------
        sklearn.utils.Tags
            The tags (scikit-learn imports here, only when scikit-learn asks).
        """
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(preserves_dtype=[]),
                    input_tags=InputTags(one_d_array=True, two_d_array=False, categorical=True, string=True))

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise not_fitted(self, "fit(categories)")

    def _index(self) -> dict[Any, int]:
        if self._lookup is None or len(self._lookup) != len(self.classes_):  # classes_ set by hand: not stored
            return {c: i for i, c in enumerate(self.classes_)}
        return self._lookup

    def _unknown(self, value: Any) -> UnknownKeyError:
        shown = ", ".join(map(repr, list(self.classes_)[:10])) + (" ..." if len(self.classes_) > 10 else "")
        return UnknownKeyError(f"unknown category {value!r}; known categories: {shown}")


class LabelTransformer(_Fitted):
    """Category → integer code, in sorted order of the categories (as scikit-learn's ``LabelEncoder``).

    A baseline that invents an order (see the module docstring). Learned: ``classes_``, the sorted categories
    (object array; code ``i`` is ``classes_[i]``).
    """

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags: those of every transformer here, and labels in (as ``LabelEncoder``'s).

        Returns
        -------
        sklearn.utils.Tags
            The tags.
        """
        tags = super().__sklearn_tags__()
        tags.target_tags.one_d_labels = True
        return tags

    def fit(self, y: Sequence[Any], _unused: Any = None) -> LabelTransformer:
        """Learn the categories (sorted, unique).

        Parameters
        ----------
        y : sequence
            Categories (hashable, mutually comparable: all str or all numbers).
        _unused : object, optional
            Ignored (scikit-learn pipelines pass a target here).

        Returns
        -------
        self
            The fitted transformer.

        Raises
        ------
        InputError
            For a lone string, an empty list, or categories that cannot be sorted together.
        """
        self.classes_ = _sorted_unique(_labels(y, "LabelTransformer.fit"))
        self._lookup = {c: i for i, c in enumerate(self.classes_)}  # here, so transform changes no attribute
        return self

    def transform(self, y: Sequence[Any]) -> np.ndarray:
        """The codes of ``y``.

        Parameters
        ----------
        y : sequence
            Categories seen in ``fit``.

        Returns
        -------
        numpy.ndarray of shape (len(y),)
            int64 codes in ``[0, len(classes_))``.

        Raises
        ------
        InputError
            When not fitted, or for a lone string or an empty list.
        UnknownKeyError
            For a category not seen in ``fit`` (listing known ones).
        """
        self._check_fitted()
        index = self._index()
        out = np.empty(len(y := _labels(y, "LabelTransformer.transform")), dtype=np.int64)
        for i, v in enumerate(y):
            if v not in index:
                raise self._unknown(v)
            out[i] = index[v]
        return out

    def fit_transform(self, y: Sequence[Any], _unused: Any = None) -> np.ndarray:
        """``fit(y).transform(y)``.

        Parameters
        ----------
        y : sequence
            Categories.
        _unused : object, optional
            Ignored (scikit-learn pipelines pass a target here).

        Returns
        -------
        numpy.ndarray of shape (len(y),)
            int64 codes.

        Raises
        ------
        InputError
            For a lone string, an empty list, or categories that cannot be sorted together.
        """
        return self.fit(y).transform(y)

    def inverse_transform(self, codes: Sequence[int] | np.ndarray) -> list[Any]:
        """Codes back to categories.

        Parameters
        ----------
        codes : sequence of int or numpy.ndarray
            Codes in ``[0, len(classes_))``.

        Returns
        -------
        list
            The categories, in the order of ``codes``.

        Raises
        ------
        InputError
            When not fitted, or for a code out of range.
        """
        self._check_fitted()
        arr = np.asarray(codes)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self.classes_)):
            raise InputError(f"codes must lie in 0..{len(self.classes_) - 1}")
        return list(self.classes_[arr])


class OneHotTransformer(_Fitted):
    """Category → float32 one-hot row with ``len(classes_)`` columns (as scikit-learn's ``OneHotEncoder``).

    An item that is a list / tuple / set of categories becomes a multi-hot row (e.g. a film's genres). Every
    pair of categories has cosine 0: the baseline that knows nothing about similarity. Learned: ``classes_`` (the
    sorted categories) and ``n_features_out_`` (their number).

    Parameters
    ----------
    handle_unknown : {"error", "ignore"}, default "error"
        What ``transform`` does with a category not seen in ``fit``: raise, or give it an all-zero row (leave its
        column out of a multi-hot row).
    """

    _param_names = ("handle_unknown",)

    def __init__(self, handle_unknown: str = "error") -> None:
        self.handle_unknown = handle_unknown

    @staticmethod
    def _members(item: Any) -> list[Any]:
        return list(item) if isinstance(item, (list, tuple, set, frozenset)) else [item]

    def fit(self, X: Sequence[Any], _unused: Any = None) -> OneHotTransformer:
        """Learn the categories of ``X`` (single categories or collections of them).

        Parameters
        ----------
        X : sequence
            Items: a category, or a list / tuple / set of categories.
        _unused : object, optional
            Ignored (scikit-learn pipelines pass a target here).

        Returns
        -------
        self
            The fitted transformer.

        Raises
        ------
        InputError
            For a bad ``handle_unknown``, a lone string, an empty list, or categories that cannot be sorted
            together.
        """
        if self.handle_unknown not in ("error", "ignore"):
            raise InputError(f"handle_unknown must be 'error' or 'ignore', got {self.handle_unknown!r}")
        items = _labels(X, "OneHotTransformer.fit")
        self.classes_ = _sorted_unique(c for item in items for c in self._members(item))
        self.n_features_out_ = len(self.classes_)
        self._lookup = {c: i for i, c in enumerate(self.classes_)}  # here, so transform changes no attribute
        return self

    def transform(self, X: Sequence[Any]) -> np.ndarray:
        """One-hot (or multi-hot) rows of ``X``.

        Parameters
        ----------
        X : sequence
            Items: a category, or a list / tuple / set of categories.

        Returns
        -------
        numpy.ndarray of shape (len(X), len(classes_))
            float32 rows of 0 and 1.

        Raises
        ------
        InputError
            When not fitted, or for a lone string or an empty list.
        UnknownKeyError
            For a category not seen in ``fit`` when ``handle_unknown="error"``.
        """
        self._check_fitted()
        index = self._index()
        items = _labels(X, "OneHotTransformer.transform")
        out = np.zeros((len(items), len(self.classes_)), dtype=np.float32)
        for i, item in enumerate(items):
            for c in self._members(item):
                j = index.get(c)
                if j is None:
                    if self.handle_unknown == "error":
                        raise self._unknown(c)
                    continue
                out[i, j] = 1.0
        return out

    def fit_transform(self, X: Sequence[Any], _unused: Any = None) -> np.ndarray:
        """``fit(X).transform(X)``.

        Parameters
        ----------
        X : sequence
            Items: a category, or a list / tuple / set of categories.
        _unused : object, optional
            Ignored (scikit-learn pipelines pass a target here).

        Returns
        -------
        numpy.ndarray of shape (len(X), len(classes_))
            float32 rows of 0 and 1.

        Raises
        ------
        InputError
            For a bad ``handle_unknown``, a lone string, an empty list, or categories that cannot be sorted
            together.
        """
        return self.fit(X).transform(X)

    def inverse_transform(self, rows: np.ndarray) -> list[list[Any]]:
        """Rows back to the categories whose column is set (> 0.5).

        Parameters
        ----------
        rows : numpy.ndarray of shape (n, len(classes_)) or (len(classes_),)
            One-hot or multi-hot rows.

        Returns
        -------
        list of list
            The categories of each row, in sorted order.

        Raises
        ------
        InputError
            When not fitted, or for rows of the wrong width.
        """
        self._check_fitted()
        rows = np.atleast_2d(np.asarray(rows))
        if rows.shape[1] != len(self.classes_):
            raise InputError(f"rows have {rows.shape[1]} columns; this encoder has {len(self.classes_)} categories")
        return [list(self.classes_[np.flatnonzero(r > 0.5)]) for r in rows]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The output columns' names (scikit-learn's ``get_feature_names_out``).

        Parameters
        ----------
        input_features : object, optional
            Ignored (scikit-learn's signature).

        Returns
        -------
        numpy.ndarray of shape (len(classes_),)
            Object array of ``str(category)``.

        Raises
        ------
        InputError
            When not fitted.
        """
        self._check_fitted()
        return np.array([str(c) for c in self.classes_], dtype=object)


_RENAMED = {"LabelEncoder": "LabelTransformer", "OneHotEncoder": "OneHotTransformer"}  # CONTRIBUTING.md, "Names"


def __getattr__(name: str) -> object:
    return renamed(__name__, _RENAMED, globals(), name)
