"""End-to-end PyTorch twin of train_cifar for erm and multimix (docs/math.md §2 recipe, §3 methods), to check
that the engine *trains* like PyTorch, not only that one step matches a fixture. Written independently
of the C++ on the reference models (models.py) and losses (methods.py); needs a GPU to be quick.

  python3 tests/reference/train_reference.py --data ROOT --method multimix --epochs 30

ROOT is an image folder ROOT/{train,test}/<class>/*.png|jpg of 32x32 images (docs/math.md §2). Prints one
line per epoch: "epoch E/N: train loss L, top-1 A%".

To bisect a difference with train_cifar: --save-init writes the initial weights (PyTorch names, as
train_cifar --init reads them), --init starts from weights train_cifar or this script wrote, and
--loss-log FILE gets one JSON line per --log-every steps with the mean loss of those steps, in the
format of train_cifar --loss-log.
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import engine_stream
import models
import st_io
from methods import loss_and_logits, sample_draws

MEAN = (0.4914, 0.4822, 0.4465)  # docs/math.md §2, every dataset
STD = (0.2023, 0.1994, 0.2010)


def load_split(root, split):
    """-> uint8 images [N, 3, 32, 32], int64 labels [N]; classes in sorted folder order."""
    classes = sorted(os.listdir(os.path.join(root, "train")))
    images, labels = [], []
    for label, cls in enumerate(classes):
        folder = os.path.join(root, split, cls)
        for f in sorted(os.listdir(folder)):
            images.append(np.asarray(Image.open(os.path.join(folder, f)).convert("RGB")))
            labels.append(label)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(labels), len(classes)


def normalise(x_uint8):
    x = x_uint8.float() / 255
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def augment(x, gen):
    """Random 32x32 crop of the zero-padded (4) image, then a horizontal flip with p = 0.5 (docs/math.md
    §2). Zero padding is applied to the raw pixels, before normalisation, as the engine does."""
    m = x.shape[0]
    dy = torch.randint(0, 9, (m,), generator=gen, device=x.device)
    dx = torch.randint(0, 9, (m,), generator=gen, device=x.device)
    flip = torch.rand(m, generator=gen, device=x.device) < 0.5
    return crop_and_flip(x, dy, dx, flip)


def crop_and_flip(x, dy, dx, flip):
    """x [m, 3, 32, 32] uint8; dy, dx [m] offsets into the image padded by 4; flip [m] bool."""
    m, positions = x.shape[0], torch.arange(32, device=x.device)
    padded = F.pad(x, (4, 4, 4, 4))  # [m, 3, 40, 40]
    rows = (dy[:, None] + positions)[:, None, :, None]  # [m, 1, 32, 1]
    cols = (dx[:, None] + positions)[:, None, None, :]  # [m, 1, 1, 32]
    batch = torch.arange(m, device=x.device)[:, None, None, None]
    channel = torch.arange(3, device=x.device)[None, :, None, None]
    out = padded[batch, channel, rows, cols]  # [m, 3, 32, 32]
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def mixed_loss(net, x, y, classes, method, n, draw_gen):
    """The training objective of one mini-batch: erm, or (paper 4.1) multimix with probability 1/2
    and input mixup on the standard pairs otherwise. Draws and losses are the fixtures' own
    (methods.sample_draws on the CPU generator draw_gen, methods.loss_and_logits)."""
    if method != "erm":
        method = "multimix" if torch.rand(1, generator=draw_gen).item() < 0.5 else "mixup"
    draws = sample_draws(method, x.shape[0], n, 1, x.shape[2], x.shape[3], draw_gen)
    draws = {k: v.to(x.device, x.dtype if v.is_floating_point() else v.dtype) for k, v in draws.items()}
    batch = {"images": x, "labels": y, **draws}
    return loss_and_logits(net, None, batch, method, classes)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--method", choices=["erm", "multimix"], default="erm")
    ap.add_argument("--model", default="preactresnet18")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--width", type=int, default=0, help="0: full width")
    ap.add_argument("--milestones", default="", help="epochs where lr x 0.1 (default: 25/50/75 %% of --epochs)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", default="", help="start from these weights (safetensors, PyTorch names)")
    ap.add_argument("--save-init", default="", help="write the initial weights here and go on")
    ap.add_argument("--loss-log", default="", help="JSON lines: epoch, step, mean loss of the last --log-every steps")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    ap.add_argument("--data-stream", choices=["torch", "engine"], default="torch",
                    help="engine: train_cifar's epoch order and crops for this seed (engine_stream.py)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models.relu = F.relu  # the fixtures' ReLU-margin bookkeeping reads the GPU after every ReLU
    torch.backends.cuda.matmul.allow_tf32 = True  # as train_cifar (TF32 allowed in training)
    torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(args.seed)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gen = torch.Generator(device=dev)  # order and augmentation, where the images are
    gen.manual_seed(args.seed)
    draw_gen = torch.Generator()  # the methods' draws, on the CPU as the fixtures make them
    draw_gen.manual_seed(args.seed)

    train_x, train_y, classes = load_split(args.data, "train")
    test_x, test_y, _ = load_split(args.data, "test")
    train_x, train_y, test_x, test_y = (t.to(dev) for t in (train_x, train_y, test_x, test_y))
    width = args.width or (64 if args.model == "preactresnet18" else 8)
    net = models.Network(args.model, width, classes)
    if args.init:
        weights, _ = st_io.load(args.init)
        net.load_state_dict({k: v for k, v in weights.items() if k.split(".")[0] in ("encoder", "classifier")})
    if args.save_init:
        st_io.save(args.save_init, net.state_dict())
    net = net.to(dev)
    loss_log = open(args.loss_log, "w") if args.loss_log else None
    # docs/math.md §2: SGD lr 0.1, momentum 0.9, weight decay 1e-4 on all parameters, batch 128, lr x 0.1 at
    # 25/50/75 % of the epochs; the last partial batch is dropped.
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    milestones = ([int(e) for e in args.milestones.split(",")] if args.milestones
                  else [max(1, int(q * args.epochs + 0.5)) for q in (0.25, 0.5, 0.75)])  # as train_cifar
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones, 0.1)
    batch = 128
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        net.train()
        if args.data_stream == "engine":  # train_cifar's epochs count from 0
            order = torch.tensor(engine_stream.epoch_order(args.seed, epoch - 1, train_x.shape[0]), device=dev)
        else:
            order = torch.randperm(train_x.shape[0], generator=gen, device=dev)
        total, steps, window = 0.0, train_x.shape[0] // batch, 0.0
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            if args.data_stream == "engine":
                draws = [engine_stream.crop_flip(args.seed, epoch - 1, p) for p in range(s * batch, (s + 1) * batch)]
                dy, dx, flip = (torch.tensor(list(v), device=dev) for v in zip(*draws))
                x = normalise(crop_and_flip(train_x[idx], dy, dx, flip))
            else:
                x = normalise(augment(train_x[idx], gen))
            loss = mixed_loss(net, x, train_y[idx], classes, args.method, args.n, draw_gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
            if loss_log:
                window += loss.item()
                if (s + 1) % args.log_every == 0:
                    loss_log.write(f'{{"epoch":{epoch},"step":{s + 1},"loss":{window / args.log_every:.6f}}}\n')
                    loss_log.flush()
                    window = 0.0
        sched.step()
        net.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, test_x.shape[0], 500):
                correct += (net(normalise(test_x[i:i + 500])).argmax(1) == test_y[i:i + 500]).sum().item()
        print(f"epoch {epoch}/{args.epochs}: train loss {total.item() / steps:.4f}, "
              f"top-1 {100 * correct / test_x.shape[0]:.2f}%, {time.time() - start:.1f}s", flush=True)


if __name__ == "__main__":
    main()
