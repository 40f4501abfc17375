# Class-agnostic Felzenszwalb segments sized for the toy world's 64-pixel
# scenes: the smoothing blurs stripes, dots and waves into their region.
mask_generator = dict(
    type='FelzenszwalbMaskGenerator', scale=300.0, sigma=0.8, min_size=100)
