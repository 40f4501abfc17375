# Class-agnostic Felzenszwalb segments (scikit-image), no weights to
# download: for toy data and demos.
mask_generator = dict(
    type='FelzenszwalbMaskGenerator', scale=300.0, sigma=0.8, min_size=100)
