"""`embedlab recommend ...`: evaluate recommenders on MovieLens 100k, recommend for a user, find similar items."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .._params import check_int
from ..errors import InputError
from .app import App, app, emit_json, print_table

if TYPE_CHECKING:  # pragma: no cover
    from ..apps.ratings import Ratings, Split
    from ..apps.recommend import ALSRecommender

# embedlab.apps (ratings, recommend) is imported inside the commands: it loads scipy and numba

recommend_app = App(help="Recommendation with user/item embeddings (MovieLens 100k).", no_args_is_help=True)
app.add_typer(recommend_app, name="recommend")


def _dataset(name: str) -> Ratings:
    from ..apps.ratings import load_movielens  # scipy

    if name != "ml-100k":
        raise InputError(f"unknown dataset {name!r}; available: ml-100k")
    return load_movielens()


def _als(split: Split) -> ALSRecommender:
    """The ALS the CLI recommends with (all ratings as feedback: the best-scoring setup) on the protocol's split."""
    from ..apps.recommend import ALSRecommender  # scipy, numba

    return ALSRecommender(factors=32, regularization=1.0, alpha=1.0, signal="ratings").fit(split)


@recommend_app.command("evaluate")
def evaluate_cmd(
    dataset: str = typer.Option("ml-100k", help="dataset name"),
    k: int = typer.Option(10, "-k", help="cut-off for recall/nDCG"),
    signal: list[str] = typer.Option(["positives", "ratings"], "--signal",
                                     help="what ALS learns from: positives (ratings >= 4) and/or ratings (all rated)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Recall@k and nDCG@k for popularity, ALS, content, hybrid and implicit's ALS (when installed)."""
    from ..apps.recommend import evaluate_all  # scipy, numba

    rows = evaluate_all(_dataset(dataset), k=k, signals=signal, progress=not as_json)
    out = [{"method": r["method"], f"recall@{k}": r[f"recall@{k}"], f"ndcg@{k}": r[f"ndcg@{k}"],
            **({"params": r["params"]} if "params" in r else {})} for r in rows]
    if as_json:
        emit_json(out)
        return
    print_table(f"{dataset}: last 20% of each user's positives (rating >= 4) held out",
                ["method", f"recall@{k}", f"ndcg@{k}", "params"],
                [[str(r["method"]), f"{r[f'recall@{k}']:.4f}", f"{r[f'ndcg@{k}']:.4f}", str(r.get("params", ""))]
                 for r in out], right=(f"recall@{k}", f"ndcg@{k}"))


@recommend_app.command("user")
def user_cmd(
    user: str = typer.Argument(..., help="user id"),
    k: int = typer.Option(10, "-k"),
    dataset: str = typer.Option("ml-100k"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Top-k movies for a user (ALS), each explained by the user's most similar liked movies."""
    from ..apps.ratings import temporal_split  # scipy
    from ..apps.recommend import explain, recommend_for, user_index  # scipy, numba

    check_int(k, "k", low=1)
    data = _dataset(dataset)
    split = temporal_split(data)
    user_index(data, split, user)  # an unknown user is refused before training
    model = _als(split)
    recs = recommend_for(model, split, data, user, k)
    because = {i: [data.item_info[j]["title"] for j, _ in explain(model.item_vectors, split, data, user, i)]
               for i, _ in recs}
    if as_json:
        emit_json([{"item": i, "title": data.item_text(i), "score": s, "fallback": recs.fallback,
                    "because": because[i]} for i, s in recs])
        return
    note = f" (no ratings to learn from: the most {recs.fallback} movies)" if recs.fallback else ""
    print_table(f"recommendations for user {user}{note}", ["movie", "score", "because you liked"],
                [[data.item_text(i), f"{s:.3f}", "; ".join(because[i])] for i, s in recs], right=("score",))


@recommend_app.command("similar")
def similar_cmd(
    item: str = typer.Argument(..., help="item id or exact title, e.g. 'Toy Story'"),
    k: int = typer.Option(10, "-k"),
    dataset: str = typer.Option("ml-100k"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Users who liked ITEM also liked: nearest items by ALS item vectors."""
    from ..apps.ratings import temporal_split  # scipy
    from ..apps.recommend import item_index, similar_items  # scipy, numba

    check_int(k, "k", low=1)
    data = _dataset(dataset)
    item_index(data, item)  # an unknown item is refused before training
    split = temporal_split(data)
    model = _als(split)
    similar = similar_items(model.item_vectors, data, item, k, split.interactions(model.signal))
    if as_json:
        emit_json([{"item": i, "title": data.item_text(i), "score": s} for i, s in similar])
        return
    print_table(f"users who liked {item!r} also liked", ["movie", "cosine"],
                [[data.item_text(i), f"{s:.3f}"] for i, s in similar], right=("cosine",))
