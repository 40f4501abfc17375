# Paper Table 1, <E_m, Theta E_t>: a linear map on the text embeddings, from
# PyTorch's default initialisation as in the paper's ablation; it breaks
# consistency alignment.
_base_ = ['./maskclippp_toy-vit_linear-psm.py']
model = dict(decode_head=dict(_delete_=True, type='LinearTextEmbeddingPSM'))
