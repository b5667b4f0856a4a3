#!/usr/bin/python3
"""OpenCV reference for skyrig's HDR tests and benchmark (python3-opencv from apt).

quality OUT.npy T1 T2 ... -- FILES...: CalibrateDebevec + MergeDebevec on the frames, save ln radiance (H,W,3 RGB) as float32 .npy
bench RESPONSE.npz OUTDIR T1 T2 ... -- FILES...: imread xN, MergeDebevec with our response, Reinhard tone map,
      imwrite .hdr and .jpg; prints JSON timings.
"""
import json
import sys
import time

import cv2
import numpy as np


def split_args(args):
    i = args.index('--')
    return [float(t) for t in args[:i]], args[i + 1:]


def main():
    mode = sys.argv[1]
    if mode == 'quality':
        out = sys.argv[2]
        times, files = split_args(sys.argv[3:])
        imgs = [cv2.imread(f, cv2.IMREAD_COLOR) for f in files]
        t = np.array(times, dtype=np.float32)
        resp = cv2.createCalibrateDebevec().process(imgs, t)
        hdr = cv2.createMergeDebevec().process(imgs, t, resp)
        ln = np.log(np.maximum(hdr, 1e-12))[:, :, ::-1].astype(np.float32)
        np.save(out, ln)
        print(json.dumps({'ok': True}))
    elif mode == 'bench':
        response_path, outdir = sys.argv[2], sys.argv[3]
        times, files = split_args(sys.argv[4:])
        t0 = time.perf_counter()
        d = np.load(response_path)
        g = d['response']  # (256, C) ln exposure, RGB order
        resp = np.exp(g[:, ::-1]).reshape(256, 1, 3).astype(np.float32)  # OpenCV wants BGR, linear
        imgs = [cv2.imread(f, cv2.IMREAD_COLOR) for f in files]
        t1 = time.perf_counter()
        hdr = cv2.createMergeDebevec().process(imgs, np.array(times, dtype=np.float32), resp)
        t2 = time.perf_counter()
        ldr = cv2.createTonemapReinhard(gamma=2.2).process(hdr)
        t3 = time.perf_counter()
        cv2.imwrite(f'{outdir}/opencv_hdr.hdr', hdr)
        cv2.imwrite(f'{outdir}/opencv_hdr.jpg', np.clip(ldr * 255, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])
        t4 = time.perf_counter()
        print(json.dumps({'read_s': t1 - t0, 'merge_s': t2 - t1, 'tonemap_s': t3 - t2, 'write_s': t4 - t3, 'total_s': t4 - t0}))
    else:
        raise SystemExit(f'unknown mode {mode}')


if __name__ == '__main__':
    main()
