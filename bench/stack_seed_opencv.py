#!/usr/bin/python3
"""The seed's live-stack algorithm with python3-opencv, for side-by-side timing:
master dark (pairwise average), per frame: subtract dark, ECC homography against the previous
frame (OpenCV default criteria), warpPerspective, ADDCOMP accumulate (sum of frame minus its
median sky), stretched JPEG preview. Reads the same 16-bit FITS files as the skyrig bench.
usage: stack_seed_opencv.py LIGHTS_DIR DARKS_DIR OUT_DIR"""
import os
import sys
import time

import cv2
import numpy as np


def read_fits(path):
    with open(path, 'rb') as f:
        raw = f.read()
    cards = {}
    off = 0
    while True:
        card = raw[off:off + 80].decode('latin1')
        off += 80
        key = card[:8].strip()
        if key == 'END':
            break
        if card[8:10] == '= ':
            cards[key] = card[10:].split('/')[0].strip().strip("'").strip()
    off = ((off + 2879) // 2880) * 2880
    w, h = int(cards['NAXIS1']), int(cards['NAXIS2'])
    bitpix = int(cards['BITPIX'])
    if bitpix != 16:
        raise SystemExit(f'{path}: bench reads 16-bit FITS only')
    data = np.frombuffer(raw, dtype='>i2', count=w * h, offset=off).astype(np.float32)
    data += float(cards.get('BZERO', 0))
    return (data / 65535.0).reshape(h, w)


def stretch_preview(img, path):
    med = float(np.median(img[::8, ::8]))
    mad = float(np.median(np.abs(img[::8, ::8] - med))) * 1.4826
    lo, hi = med - 2.8 * mad, float(np.percentile(img[::8, ::8], 99.9))
    out = np.clip((img - lo) / max(hi - lo, 1e-6), 0, 1)
    out = np.sqrt(out)
    cv2.imwrite(path, (out * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])


def main():
    lights, darks, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    master = None
    for name in sorted(os.listdir(darks)):
        d = read_fits(os.path.join(darks, name))
        master = d if master is None else (master + d) / 2
    print(f'seed: master dark in {time.time() - t0:.2f} s')
    prev = None
    stack = None
    warp = np.eye(3, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 0.001)
    failures = 0
    for name in sorted(os.listdir(lights)):
        t = time.time()
        c = time.process_time()
        img = read_fits(os.path.join(lights, name)) - master
        if prev is None:
            stack = img.copy()
            aligned = img
        else:
            # The seed aligns each frame on the previous one and composes nothing: ECC per pair.
            warp = np.eye(3, 3, dtype=np.float32)
            try:
                _, warp = cv2.findTransformECC(prev, img, warp, cv2.MOTION_HOMOGRAPHY, criteria, None, 5)
            except cv2.error as e:
                # The seed would stop here; the benchmark counts it and goes on unaligned so the
                # time per frame is still measured (the ECC iterations were spent either way).
                failures += 1
                print(f'seed {name}: ECC did not converge ({str(e).strip().splitlines()[-1][:80]})', flush=True)
                warp = np.eye(3, 3, dtype=np.float32)
            aligned = cv2.warpPerspective(img, warp, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP)
            stack += aligned - float(np.median(aligned[::4, ::4]))
        prev = aligned
        stretch_preview(stack, os.path.join(out, 'seed-preview.jpg'))
        cv2.imwrite(os.path.join(out, 'seed-stack.tif'), stack)
        print(f'seed {name}: {time.time() - t:.2f} s (cpu {time.process_time() - c:.2f} s)', flush=True)
    print(f'seed: ECC failed to converge on {failures} frame(s)', flush=True)


if __name__ == '__main__':
    main()
