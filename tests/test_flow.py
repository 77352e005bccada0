"""Optical flow: backends recover known motion, the authors' normalisation, the cache, colour coding."""

import multiprocessing as mp

import numpy as np
import pytest

from starlib.data import load_window, middlebury_other
from starlib.flow import (BACKENDS, FlowCache, compute_flow, denormalize_flow, flow_to_color, fr_ground_truth,
                          normalize_flow, warp)
from starlib.flow.evaluate import Motion, endpoint_error, known_motion_pair, photometric_psnr


@pytest.fixture(scope="module")
def source():
    return load_window(middlebury_other()[0]).lr[0]  # Walking, 160x120 LR: a real textured frame


def test_known_motion_pair_is_exact(source):
    a, b, truth = known_motion_pair(source, Motion("t", 3.0, -2.0), (64, 96))
    assert np.allclose(truth[..., 0], 3.0) and np.allclose(truth[..., 1], -2.0)
    assert np.array_equal(a[:, :-3][2:], b[:, 3:][:-2])  # integer shift: b is a moved right 3, up 2
    _, _, rot = known_motion_pair(source, Motion("r", angle_deg=5.0), (64, 96))
    assert abs(rot[32, 48]).max() < 0.6 and abs(rot[0, 0]).max() > 2  # about zero at the centre only
    assert photometric_psnr(a, b, truth) > 40


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backends_recover_a_small_known_motion(backend, source):
    a, b, truth = known_motion_pair(source, Motion("shift", 2.0, 1.0), (64, 96))
    flow = compute_flow(a, b, backend)
    assert flow.shape == (64, 96, 2) and flow.dtype == np.float32
    assert endpoint_error(flow, truth) < 0.5


def test_compute_flow_rejects_bad_frames(source):
    with pytest.raises(ValueError, match="unknown flow backend 'raft'"):
        compute_flow(source, source, "raft")
    with pytest.raises(ValueError, match="frames differ in size"):
        compute_flow(source, source[:50])
    with pytest.raises(ValueError, match="must be \\(H, W, 3\\) uint8"):
        compute_flow(source.astype(np.float32), source)


def test_authors_normalisation_flips_the_sign_and_clips():
    px = np.array([[[300.0, -75.0]]], np.float32)
    assert normalize_flow(px).tolist() == [[[-1.0, 0.5]]]
    assert np.allclose(denormalize_flow(normalize_flow(np.array([[[12.0, -3.0]]]))), [[[12.0, -3.0]]])


def test_fr_ground_truth_sums_the_half_flows():
    calls = []

    def fake_flow(a, b):
        calls.append((int(a[0, 0, 0]), int(b[0, 0, 0])))
        return np.full((2, 2, 2), float(int(b[0, 0, 0]) - int(a[0, 0, 0])), np.float32)

    f0, f1, f2 = (np.full((2, 2, 3), v, np.uint8) for v in (0, 15, 45))
    fwd, bwd = fr_ground_truth(f0, f1, f2, flow_fn=fake_flow)
    assert calls == [(0, 15), (15, 45), (45, 15), (15, 0)]
    assert np.allclose(fwd, -(15 + 30) / 150) and np.allclose(bwd, (30 + 15) / 150)


def test_warp_undoes_known_motion(source):
    a, b, truth = known_motion_pair(source, Motion("rz", 1.5, 0.5, angle_deg=2.0, zoom=1.02), (64, 96))
    back = warp(b, truth).astype(float)
    err = np.abs(back - a.astype(float))[8:-8, 8:-8].mean()
    assert err < 3.0


def test_cache_computes_once_and_keys_on_content_and_backend(tmp_path, source):
    a, b, _ = known_motion_pair(source, Motion("shift", 2.0, 1.0), (48, 64))
    cache = FlowCache(tmp_path, "dis_fast")
    first = cache(a, b)
    second = cache(a, b)
    assert np.array_equal(first, second) and (cache.misses, cache.hits) == (1, 1)
    assert np.array_equal(first, compute_flow(a, b, "dis_fast"))
    other = FlowCache(tmp_path, "farneback")
    assert other.key(a, b) != cache.key(a, b)
    assert cache.key(a, b) != cache.key(b, a)
    c = a.copy()
    c[0, 0, 0] ^= 1
    assert cache.key(c, b) != cache.key(a, b)
    assert not list(tmp_path.rglob("*.tmp")), "temporary files left behind"


def test_cache_recovers_from_a_corrupt_entry(tmp_path, source):
    a, b, _ = known_motion_pair(source, Motion("shift", 2.0, 1.0), (48, 64))
    cache = FlowCache(tmp_path, "dis_fast")
    good = cache(a, b)
    cache.path(cache.key(a, b)).write_bytes(b"garbage")
    assert np.array_equal(FlowCache(tmp_path, "dis_fast")(a, b), good)


def _fill_cache(args):
    root, seed = args
    rng = np.random.default_rng(0)  # same frames in every process: same keys, racing writers
    frames = [rng.integers(0, 256, (32, 40, 3), dtype=np.uint8) for _ in range(4)]
    cache = FlowCache(root, "dis_ultrafast")
    return [float(cache(frames[i], frames[i + 1]).sum()) for i in range(3)]


def test_concurrent_writers_agree(tmp_path):
    with mp.get_context("spawn").Pool(2) as pool:
        results = pool.map(_fill_cache, [(str(tmp_path), s) for s in range(4)])
    assert all(r == results[0] for r in results)
    assert len(list(tmp_path.rglob("*.npy"))) == 3
    assert not list(tmp_path.rglob("*.tmp"))


def test_colour_coding():
    flow = np.zeros((3, 3, 2), np.float32)
    flow[0, 0] = (5.0, 0.0)     # rightwards, the largest magnitude: saturated red end of the wheel
    flow[0, 1] = (0.0, 5.0)
    img = flow_to_color(flow)
    assert img.dtype == np.uint8 and img.shape == (3, 3, 3)
    assert tuple(img[1, 1]) == (255, 255, 255)        # no motion: white
    r, g, b = (int(v) for v in img[0, 0])
    assert r == 255 and g < 60 and b < 60
    assert tuple(img[0, 1]) != tuple(img[0, 0])
