"""`embedlab sentiment ...`: sentiment classification on embeddings, cross-validated against bag-of-words."""

from __future__ import annotations

import typer

from .._progress import working
from .app import App, app, emit_json, print_table, threads_option

sentiment_app = App(help="Sentiment: logistic regression on sentence embeddings.", no_args_is_help=True)
app.add_typer(sentiment_app, name="sentiment")

_ENCODERS = ["use-multilingual", "glove-50"]


@sentiment_app.command("evaluate")
def evaluate_cmd(
    dataset: str = typer.Option("polarity", help="polarity (200 review sentences) or bingliu (6,789 words)"),
    encoder: list[str] = typer.Option(_ENCODERS, "--encoder", "-e", help="encoder(s) to compare (repeatable)"),
    folds: int = typer.Option(5, help="folds per repeat"),
    repeats: int = typer.Option(10, help="repeats of stratified k-fold"),
    seed: int = typer.Option(0),
    c: float | None = typer.Option(None, "--C", help="fixed inverse regularisation (default: nested 3-fold CV over a "
                                                     "grid)"),
    jobs: int = typer.Option(0, "--jobs", "-j", help="fits run at once, in processes (0: one per core); the "
                                                      "numbers do not depend on it"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Accuracy (mean, 95% interval) of each encoder and of TF-IDF baselines on identical folds."""
    from ..apps.classify import evaluate_sentiment  # here, not at the top: loads scikit-learn and scipy

    report = evaluate_sentiment(dataset, encoder, folds=folds, repeats=repeats, seed=seed, C=c,
                                progress=not as_json, n_jobs=jobs)
    if as_json:
        emit_json(report)
        return
    print_table(f"{dataset}: {report['n']} examples ({report['positives']} positive), {repeats} x {folds}-fold "
                f"stratified CV, seed {seed}", ["method", "accuracy", "95% interval", "sd (folds)"],
                [[r["method"], f"{r['accuracy']:.4f}", f"{r['ci95'][0]:.4f} - {r['ci95'][1]:.4f}", f"{r['sd']:.4f}"]
                 for r in report["rows"]], right=("accuracy", "sd (folds)"))


@sentiment_app.command("predict")
def predict_cmd(
    texts: list[str] = typer.Argument(..., help="texts to classify"),
    dataset: str = typer.Option("polarity", help="training data: polarity or bingliu"),
    encoder: str = typer.Option("use-multilingual", "--encoder", "-e"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Train on a labelled set, then print P(positive) for each text (any language the encoder reads)."""
    from ..apps.classify import EmbeddingClassifier, load_dataset  # scikit-learn, scipy

    train, labels = load_dataset(dataset)
    with working(f"training on {dataset} ({len(train):,} examples) with {encoder}", not as_json):
        clf = EmbeddingClassifier(encoder).fit(train, labels)
        probs = clf.predict_proba(texts)[:, list(clf.classes_).index(1)]
    scored = [(t, float(p)) for t, p in zip(texts, probs, strict=True)]
    if as_json:
        emit_json([{"text": t, "label": _label(p), "p_positive": p} for t, p in scored])
        return
    print_table(f"trained on {dataset} with {encoder}", ["text", "label", "P(positive)"],
                [[t, _label(p), f"{p:.3f}"] for t, p in scored], right=("P(positive)",))


def _label(p_positive: float) -> str:
    return "positive" if p_positive >= 0.5 else "negative"
