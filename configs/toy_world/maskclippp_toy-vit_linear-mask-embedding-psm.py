# Paper Table 1's counter-example: a linear map on the mask embeddings
# (<Theta E_m, E_t>), which breaks consistency alignment.
_base_ = ['./maskclippp_toy-vit_linear-psm.py']
model = dict(decode_head=dict(_delete_=True, type='LinearMaskEmbeddingPSM'))
