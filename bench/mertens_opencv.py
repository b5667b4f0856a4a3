#!/usr/bin/python3
"""OpenCV anchor for skyrig's Mertens fusion benchmark (bench/hdr-mertens.ts; python3-opencv from apt).

OUT.jpg FILES...: imread ×N, MergeMertens (contrast, saturation, exposedness 1), clip ×255, imwrite JPEG q90;
prints JSON timings.
"""
import json
import sys
import time

import cv2
import numpy as np


def main():
    out, files = sys.argv[1], sys.argv[2:]
    t0 = time.perf_counter()
    imgs = [cv2.imread(f, cv2.IMREAD_COLOR) for f in files]
    t1 = time.perf_counter()
    fused = cv2.createMergeMertens().process(imgs)
    t2 = time.perf_counter()
    cv2.imwrite(out, np.clip(fused * 255, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])
    t3 = time.perf_counter()
    print(json.dumps({'read_s': t1 - t0, 'merge_s': t2 - t1, 'write_s': t3 - t2, 'total_s': t3 - t0}))


if __name__ == '__main__':
    main()
