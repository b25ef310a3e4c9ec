"""PyTorch reference of the methods of docs/math.md §3, given explicit draws, written independently of the
C++ (MultiMix uses the embedding path Lambda^T Z here; the engine trains with the logit path).

loss_and_logits(net, teacher, batch, method, ...) -> (loss, logits); logits are [m, c], [n, c]
(multimix) or [n, c, R, R] (dense, the layout of a 1x1-conv output).
"""
import torch
import torch.nn.functional as F


def soft_ce(logits, targets):
    """H(T, softmax(Z)) per row: -sum_c t_c log p_c."""
    return -(targets * F.log_softmax(logits, dim=-1)).sum(-1)


def mix(x, perm, lam):
    return lam * x + (1 - lam) * x[perm]


def head_logits(net, h, frm):
    f = net.encoder.head(net.encoder.stages(h, frm, net.num_stages))
    return net.classifier(f.mean(dim=(2, 3)))


def dense_embedding(net, x, R):
    f = net.features(x)  # [m, d, h, w]
    if f.shape[2] != R:
        f = F.avg_pool2d(f, f.shape[2] // R)
    return f.flatten(2)  # [m, d, r], r = R * R row-major


def attention(z, labels, W, kind):
    """z [m, d, r] -> a [m, r] (constant)."""
    z = z.detach()
    m, d, r = z.shape
    if kind == "uniform":
        return torch.full((m, r), 1.0 / r, dtype=z.dtype)
    u = W.detach()[labels] if kind.startswith("cam") else z.mean(2)
    q = torch.einsum("mdr,md->mr", z, u)
    if kind.endswith("softmax"):
        return torch.softmax(q, dim=1)
    q = q.clamp_min(0)
    total = q.sum(1, keepdim=True)
    return torch.where(total > 0, q / total.clamp_min(1e-300), torch.full_like(q, 1.0 / r))


def dense_weights(a, Lam):
    """a [m, r], Lam [r, m, n] -> Mtilde [r, m, n], s [r, n]."""
    M = a.t()[:, :, None] * Lam
    s = M.sum(1)
    Mt = torch.where(s[:, None, :] > 0, M / s[:, None, :].clamp_min(1e-300), torch.zeros_like(M))
    return Mt, s


def dense_loss(logits, targets, s):
    """logits, targets [r, n, c], s [r, n] -> (1/r) sum_j sum_k s_jk H_jk / sum_k s_jk."""
    H = soft_ce(logits, targets)
    return ((s * H).sum(1) / s.sum(1)).mean()


def loss_and_logits(net, teacher, b, method, classes, gamma=0.5, R=4, att="gap-relu"):
    x, y = b["images"], b["labels"]
    Y = F.one_hot(y, classes).to(x.dtype)

    def forward(model, view, Mt=None):
        if method == "erm":
            return model(view)
        if method == "mixup":
            return model(mix(view, b["perm"], b["lam"]))
        if method == "manifold":
            k = int(b["layer"])
            return head_logits(model, mix(model.encoder.stages(view, 0, k), b["perm"], b["lam"]), k)
        if method == "cutmix":
            y0, x0, y1, x1 = b["box"].tolist()
            v = view.clone()
            v[:, :, y0:y1, x0:x1] = view[b["perm"]][:, :, y0:y1, x0:x1]
            return model(v)
        if method == "multimix":
            z = model.features(view).mean(dim=(2, 3))
            return model.classifier(b["Lambda"].t() @ z)
        if method == "dense-multimix":
            return dense_logits(model, dense_embedding(model, view, R), Mt)
        raise ValueError(method)

    def dense_logits(model, z, Mt):
        zt = torch.einsum("rmn,mdr->rnd", Mt, z)  # the embedding path: mix, then classify per position
        return zt @ model.classifier.weight.t() + model.classifier.bias

    Mt = s = None
    if method == "dense-multimix":
        z = dense_embedding(net, x, R)  # one forward: the student's BN statistics move once
        Mt, s = dense_weights(attention(z, y, net.classifier.weight, att), b["Lambda"])
        logits = dense_logits(net, z, Mt)
    else:
        logits = forward(net, x)
    if method in ("mixup", "manifold"):
        T = mix(Y, b["perm"], b["lam"])
    elif method == "cutmix":
        y0, x0, y1, x1 = b["box"].tolist()
        lam = 1 - (y1 - y0) * (x1 - x0) / (x.shape[2] * x.shape[3])
        T = mix(Y, b["perm"], lam)
    elif method == "multimix":
        T = b["Lambda"].t() @ Y
    elif method == "dense-multimix":
        T = torch.einsum("rmn,mc->rnc", Mt, Y)
    else:
        T = Y

    def objective(targets):
        return dense_loss(logits, targets, s) if method == "dense-multimix" else soft_ce(logits, targets).mean()

    loss = objective(T)
    if teacher is not None:
        with torch.no_grad():
            for mod in teacher.modules():
                if isinstance(mod, torch.nn.BatchNorm2d):
                    mod.momentum = 0.0  # batch statistics, running statistics untouched
            teacher.train()
            P_teacher = torch.softmax(forward(teacher, b["images2"], Mt), dim=-1)
        loss = gamma * loss + (1 - gamma) * objective(P_teacher)
    if method == "dense-multimix":
        r, n, c = logits.shape
        logits = logits.permute(1, 2, 0).reshape(n, c, R, R)
    return loss, logits


def sample_draws(method, m, n, r, H, W, gen):
    """Draws as probe's batch file holds them."""
    d = {}
    if method in ("mixup", "manifold", "cutmix"):
        d["perm"] = torch.randperm(m, generator=gen)
    if method in ("mixup", "manifold"):
        a = 1.0 if method == "mixup" else 2.0
        g1, g2 = torch._standard_gamma(torch.tensor([a, a], dtype=torch.float64))
        d["lam"] = torch.tensor(float(g1 / (g1 + g2)), dtype=torch.float32)
    if method == "manifold":
        d["layer"] = torch.tensor(1, dtype=torch.int64)
    if method == "cutmix":
        d["box"] = torch.tensor([5, 9, 21, 30], dtype=torch.int64)
    if method in ("multimix", "dense-multimix"):
        shape = (r, m, n) if method == "dense-multimix" else (1, m, n)
        alpha = 0.5 + 1.5 * torch.rand(shape[0], 1, n, generator=gen, dtype=torch.float64)
        g = torch._standard_gamma(alpha.expand(shape).contiguous())
        # float64, whose columns sum to 1 to the last bit a float64 run can see: the engine mixes
        # logits (Lambda^T g(Z)), this reference mixes embeddings (g(Lambda^T Z)); the two agree
        # only as far as the columns sum to 1 (the classifier's bias)
        lam = g / g.sum(1, keepdim=True)
        d["Lambda"] = lam if method == "dense-multimix" else lam[0]
    return d
