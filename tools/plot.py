#!/usr/bin/python3
"""Plots of a gradcore training run (matplotlib, Agg backend: no display needed).

    tools/plot.py runs/mnist.metrics.jsonl [--stats runs/mnist.stats.jsonl] [--out-dir runs/plots]

Reads the metrics log of `gradcore train` (lines {"type":"step",...} and
{"type":"epoch",...}) and, when present, the statistics log of
`--stats-every N` ({"type":"stats",...}; default: the metrics path with
.stats.jsonl). Writes:
  training.png         loss per logged step and per epoch, test accuracy per epoch
  grad_norms.png       gradient norm of every parameter tensor over the steps
  update_ratios.png    ‖Δw‖/‖w‖ per optimizer step of every parameter tensor
  activations.png      mean and std of every layer's output; dead ReLU units
  activation_hist.png  each layer's output histogram at the first and last statistics step
Debian: apt-get install python3-matplotlib.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_jsonl(path):
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def plot_training(metrics, out):
    steps = [m for m in metrics if m.get("type") == "step"]
    epochs = [m for m in metrics if m.get("type") == "epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    if steps:
        ax_loss.plot([m["step"] for m in steps], [m["loss"] for m in steps], lw=0.8, label="batch loss")
    if epochs:
        ax_loss.plot([m["step"] for m in epochs], [m["train_loss"] for m in epochs], "o-", label="train loss (epoch mean)")
        ax_loss.plot([m["step"] for m in epochs], [m["test_loss"] for m in epochs], "s-", label="test loss")
        ax_acc.plot([m["epoch"] for m in epochs], [100 * m["test_accuracy"] for m in epochs], "o-")
    ax_loss.set(xlabel="step", ylabel="cross-entropy", title="loss", yscale="log")
    ax_loss.legend()
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="accuracy")
    ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def per_param_curves(stats, key, out, title, ylabel):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = [p["name"] for p in stats[0]["params"]]
    for i, name in enumerate(names):
        ax.plot([s["step"] for s in stats], [s["params"][i][key] for s in stats], label=name,
                ls="-" if name.endswith("weight") else "--")
    ax.set(xlabel="step", ylabel=ylabel, title=title, yscale="log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_activations(stats, out):
    layers = [(layer["name"], layer["kind"]) for layer in stats[0]["layers"]]
    steps = [s["step"] for s in stats]
    fig, (ax_mean, ax_std, ax_dead) = plt.subplots(1, 3, figsize=(15, 4))
    for i, (name, kind) in enumerate(layers):
        ax_mean.plot(steps, [s["layers"][i]["mean"] for s in stats], label=name)
        ax_std.plot(steps, [s["layers"][i]["std"] for s in stats], label=name)
        if kind == "relu":
            ax_dead.plot(steps, [100 * s["layers"][i]["dead_fraction"] for s in stats], label=name)
    ax_mean.set(xlabel="step", title="activation mean")
    ax_std.set(xlabel="step", title="activation std", yscale="log")
    ax_dead.set(xlabel="step", ylabel="% of units", title="dead ReLU units (0 for the whole batch)")
    for ax in (ax_mean, ax_std, ax_dead):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_histograms(stats, out):
    first, last = stats[0], stats[-1]
    n = len(last["layers"])
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for i in range(rows * cols):
        ax = axes[i // cols][i % cols]
        if i >= n:
            ax.axis("off")
            continue
        for snapshot, color in ((first, "tab:gray"), (last, "tab:blue")):
            layer = snapshot["layers"][i]
            h = layer["hist"]
            width = (h["hi"] - h["lo"]) / len(h["counts"]) or 1.0
            edges = [h["lo"] + k * width for k in range(len(h["counts"]))]
            total = sum(h["counts"]) or 1
            ax.bar(edges, [c / total for c in h["counts"]], width=width, align="edge", color=color, alpha=0.55,
                   label="step %d" % snapshot["step"])
        ax.set_title("%s %s" % (last["layers"][i]["name"], "x".join(map(str, last["layers"][i]["shape"][1:]))),
                     fontsize=9)
        ax.set_yscale("log")
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle("activation histograms (fraction of values per bin)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description="PNG plots of a gradcore training run")
    parser.add_argument("metrics", help="<out>.metrics.jsonl written by gradcore train")
    parser.add_argument("--stats", help="<out>.stats.jsonl written by --stats-every (default: beside the metrics)")
    parser.add_argument("--out-dir", default=None, help="where the PNGs go (default: beside the metrics)")
    args = parser.parse_args()
    try:
        metrics = read_jsonl(args.metrics)
        stats_path = args.stats or args.metrics.replace(".metrics.jsonl", ".stats.jsonl")
        stats = [s for s in read_jsonl(stats_path) if s.get("type") == "stats"] if os.path.exists(stats_path) else []
        if args.stats and not stats:
            raise ValueError("%s holds no statistics lines" % args.stats)
    except (OSError, ValueError) as e:  # json.JSONDecodeError is a ValueError
        print("plot.py: %s" % e, file=sys.stderr)
        return 1
    out_dir = args.out_dir or os.path.dirname(os.path.abspath(args.metrics))
    os.makedirs(out_dir, exist_ok=True)
    written = [os.path.join(out_dir, "training.png")]
    plot_training(metrics, written[0])
    if stats:
        for name, key, title, ylabel in (("grad_norms.png", "grad_norm", "gradient norm per parameter", "‖∂L/∂w‖"),
                                         ("update_ratios.png", "update_ratio", "update / weight per step",
                                          "‖Δw‖ / ‖w‖")):
            written.append(os.path.join(out_dir, name))
            per_param_curves(stats, key, written[-1], title, ylabel)
        written.append(os.path.join(out_dir, "activations.png"))
        plot_activations(stats, written[-1])
        written.append(os.path.join(out_dir, "activation_hist.png"))
        plot_histograms(stats, written[-1])
    else:
        print("no statistics log (train with --stats-every N); only the training curves")
    for path in written:
        print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
