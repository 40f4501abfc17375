# Paper Table 1, <E_m, Norm(P_t)>: the PseudoText PSM without the E_t
# residual. P_t is a weighted sum of patch embeddings, so the similarity
# does not start from CLIP's: it breaks consistency alignment.
_base_ = ['./maskclippp_toy-vit_pseudo-text-psm.py']
model = dict(decode_head=dict(text_residual=False))
