"""The MaskCLIPpp segmentor: training step, mask classification API,
vocabulary changes and inference outputs."""
import pytest
import torch

from conftest import batch, make_segmentor
from mmseg_maskclippp import Vocabulary


def test_synonym_max_is_a_max_over_each_class_synonyms():
    model = make_segmentor('test-vit')
    vocab = Vocabulary(['a,b,c', 'd', 'e,f'])
    logits = torch.randn(7, 6)
    out = model._synonym_max(logits, vocab)
    expected = torch.stack([
        logits[:, 0:3].max(1).values, logits[:, 3],
        logits[:, 4:6].max(1).values
    ], 1)
    assert torch.equal(out, expected)


def test_zero_mask_batch_gives_zero_loss_and_grads_everywhere():
    model = make_segmentor('test-convnext',
                           decode_head=dict(type='PseudoTextPSM',
                                            num_heads=2))
    data = batch(model, labels_per_image=((), ()))
    with pytest.warns(UserWarning, match='no ground-truth mask'):
        losses = model(**data, mode='loss')
    loss = sum(losses.values())
    assert loss.item() == 0
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad]
    assert trainable
    for name, param in trainable:
        assert param.grad is not None, name
        assert torch.count_nonzero(param.grad) == 0, name


def test_an_image_without_masks_is_named_in_a_warning():
    model = make_segmentor('test-vit')
    data = batch(model, labels_per_image=((0, 1), ()))
    data['data_samples'][1].set_metainfo(dict(img_path='all_ignore.jpg'))
    with pytest.warns(UserWarning,
                      match='all_ignore.jpg: no ground-truth mask'):
        model(**data, mode='loss')


def test_training_step_uses_gt_masks_and_labels(monkeypatch):
    model = make_segmentor('test-vit')
    data = batch(model)
    seen = {}
    original = model.loss_fn.forward

    def spy(logits, labels, img_idx, areas=None):
        seen.update(logits=logits, labels=labels, img_idx=img_idx)
        return original(logits, labels, img_idx, areas)

    monkeypatch.setattr(model.loss_fn, 'forward', spy)
    model(**data, mode='loss')
    assert seen['labels'].tolist() == [0, 1, 2, 3]
    assert seen['img_idx'].tolist() == [0, 0, 0, 1]
    assert seen['logits'].shape == (4, 4)  # N masks x K training classes


def test_missing_gt_masks_say_which_transforms_to_add():
    model = make_segmentor('test-vit')
    data = batch(model)
    del data['data_samples'][0].gt_instances
    with pytest.raises(KeyError, match='GenerateGTMasks'):
        model(**data, mode='loss')


def test_classify_masks_api(family):
    torch.manual_seed(0)
    model = make_segmentor(family, test_cfg=dict(clip_short_side=32)).eval()
    images = torch.rand(2, 3, 48, 80) * 255
    masks = [torch.rand(3, 48, 80), torch.zeros(0, 48, 80)]
    logits = model.classify_masks(images, masks)
    assert [tuple(lg.shape) for lg in logits] == [(3, 4), (0, 4)]
    assert torch.isfinite(logits[0]).all()
    # the same as classifying by hand at CLIP's test size (short side 32)
    small = torch.nn.functional.interpolate(images[:1], size=(32, 53),
                                            mode='bilinear')
    small_masks = torch.nn.functional.interpolate(
        masks[0][None], size=(32, 53), mode='bilinear')[0]
    again = model._classify([small[0]], [small_masks])
    model.test_cfg['clip_short_side'] = None
    assert torch.allclose(model._classify([small[0]], [small_masks])[0],
                          again[0])
    assert torch.allclose(again[0], logits[0], atol=1e-4)


@pytest.mark.parametrize('head, train_reads, eval_reads', [
    (dict(type='LinearPSM', width=16), True, False),
    (dict(type='LinearPSM', width=16, fold_inference=False), True, True),
    (dict(type='PseudoTextPSM', num_heads=2), False, False),
    (dict(type='MeanTemplatePSM'), False, False),
])
def test_similarities_are_computed_only_for_a_psm_that_reads_them(
        head, train_reads, eval_reads, monkeypatch):
    model = make_segmentor('test-vit', decode_head=head)
    seen = []
    forward = model.decode_head.forward

    def spy(corrs, *args, **kwargs):
        seen.append(corrs is not None)
        return forward(corrs, *args, **kwargs)

    monkeypatch.setattr(model.decode_head, 'forward', spy)
    model.train()
    model.loss(**batch(model))
    model.eval()
    model.classify_masks(torch.rand(1, 3, 32, 32) * 255,
                         [torch.rand(2, 32, 32)])
    assert seen == [train_reads, eval_reads]


def test_folded_linear_psm_classifies_masks_as_the_two_layers():
    torch.manual_seed(0)
    model = make_segmentor('test-vit', vocabulary=[
        'red,crimson', 'green', 'blue,azure,navy', 'grey'],
        text_encoder=dict(type='OpenCLIPTextClassifier',
                          model_name='test-vit', templates='t14',
                          cache_dir=None)).eval()
    images = torch.rand(2, 3, 32, 32) * 255
    masks = [torch.rand(3, 32, 32), torch.rand(2, 32, 32)]
    folded = model.classify_masks(images, masks)
    model.decode_head.fold_inference = False
    reference = model.classify_masks(images, masks)
    for f, r in zip(folded, reference):
        torch.testing.assert_close(f, r, atol=1e-4, rtol=1e-5)


def test_one_open_clip_model_serves_both_towers(monkeypatch, tmp_path):
    import open_clip
    built = []
    create = open_clip.create_model

    def counting(name, *args, **kwargs):
        built.append(name)
        return create(name, *args, **kwargs)

    monkeypatch.setattr(open_clip, 'create_model', counting)
    model = make_segmentor('test-vit')
    assert built == ['test-vit']
    state = model.state_dict()
    assert not any(k.startswith('text_encoder.clip.visual') for k in state)
    assert any(k.startswith('text_encoder.clip.transformer') for k in state)
    # other tower options still share; other weights do not
    built.clear()
    make_segmentor('test-vit', backbone=dict(
        type='CLIPViT', model_name='test-vit', finetune='none'))
    assert built == ['test-vit']
    weights = tmp_path / 'clip.pt'
    torch.save(create('test-vit').state_dict(), weights)
    built.clear()
    make_segmentor('test-vit', text_encoder=dict(
        type='OpenCLIPTextClassifier', model_name='test-vit',
        pretrained=str(weights), templates='t1', cache_dir=None))
    assert built == ['test-vit'] * 2


def test_text_encoder_defaults_to_the_backbones_clip(monkeypatch,
                                                     tmp_path):
    """A text encoder without model_name takes the backbone's model name,
    weights and download folder, and shares its open_clip model."""
    import open_clip
    built = []
    create = open_clip.create_model

    def counting(name, *args, **kwargs):
        built.append(name)
        return create(name, *args, **kwargs)

    weights = tmp_path / 'clip.pt'
    state = create('test-vit').state_dict()
    torch.save(state, weights)
    monkeypatch.setattr(open_clip, 'create_model', counting)
    text_encoder = dict(
        type='OpenCLIPTextClassifier', templates='t1', cache_dir=None)
    model = make_segmentor(
        'test-vit', text_encoder=text_encoder,
        backbone=dict(type='OpenCLIPVisual', model_name='test-vit',
                      pretrained=str(weights)))
    assert built == ['test-vit']
    assert model.text_encoder.model_name == 'test-vit'
    torch.testing.assert_close(
        model.text_encoder.clip.token_embedding.weight,
        state['token_embedding.weight'])
    # a text encoder naming its own weights keeps them (and its own model)
    built.clear()
    model = make_segmentor(
        'test-vit', text_encoder=dict(text_encoder, pretrained=None),
        backbone=dict(type='OpenCLIPVisual', model_name='test-vit',
                      pretrained=str(weights)))
    assert built == ['test-vit'] * 2
    assert not torch.equal(model.text_encoder.clip.token_embedding.weight,
                           state['token_embedding.weight'])


def test_classify_masks_rejects_bad_inputs():
    model = make_segmentor('test-vit').eval()
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        model.classify_masks(torch.zeros(3, 32, 32), [torch.zeros(1, 32, 32)])
    with pytest.raises(ValueError, match='masks for 1 images and 2'):
        model.classify_masks(torch.zeros(2, 3, 32, 32),
                             [torch.zeros(1, 32, 32)])
    with pytest.raises(ValueError, match=r'expected \(Q, 32, 32\)'):
        model.classify_masks(torch.zeros(1, 3, 32, 32),
                             [torch.zeros(1, 16, 16)])


def test_set_vocabulary_changes_classes_and_seen_flags():
    model = make_segmentor('test-vit').eval()
    images = torch.rand(1, 3, 32, 32) * 255
    masks = [torch.ones(2, 32, 32)]
    assert model.classify_masks(images, masks)[0].shape == (2, 4)
    model.set_vocabulary(['purple', 'azure,sky blue', 'red'])
    assert model.classify_masks(images, masks)[0].shape == (2, 3)
    assert model.seen_classes.tolist() == [False, True, True]
    with pytest.raises(ValueError, match='empty'):
        model.set_vocabulary(['ok', ' '])


def test_predict_semantic_panoptic_and_instance():
    model = make_segmentor(
        'test-vit',
        test_cfg=dict(
            tasks=('semantic', 'panoptic', 'instance'),
            thing_classes=['red', 'grey'],
            object_mask_threshold=0.0,
            overlap_threshold=0.0,
            keep_seg_logits=True)).eval()
    data = batch(model, labels_per_image=((0, 1), (2, 3)), size=(32, 48))
    for s in data['data_samples']:
        s.set_metainfo(dict(ori_shape=(64, 96)))
    out = model(**data, mode='predict')
    for s in out:
        assert s.pred_sem_seg.data.shape == (1, 64, 96)
        assert s.seg_logits.data.shape == (4, 64, 96)
        assert torch.equal(s.pred_sem_seg.data[0],
                           s.seg_logits.data.argmax(0))
        pan = s.pred_panoptic_seg.sem_seg
        assert pan.shape == (1, 64, 96)
        labels = set((pan % 1000).unique().tolist())
        assert labels <= {0, 1, 2, 3, 4}  # 4 = unassigned
        inst = s.pred_instances
        assert inst.masks.shape[1:] == (64, 96)
        assert set(inst.labels.tolist()) <= {0, 3}  # things only
        assert inst.bboxes.shape == (len(inst), 4)
        assert len(s.pred_mask_labels.pred) == 2  # GT oracle: 2 masks
    assert out[0].pred_mask_labels.gt.tolist() == [0, 1]


def test_predict_semantic_map_follows_the_classified_masks(monkeypatch):
    model = make_segmentor('test-vit').eval()
    data = batch(model, labels_per_image=((0, 1, 2, 3), ), size=(32, 64))

    def perfect(images, masks):
        # the oracle proposes masks of classes 0..3 in order: classify
        # mask q as class 3 - q
        return [torch.eye(4).flip(0) * 10 for _ in masks]

    monkeypatch.setattr(model, '_classify', perfect)
    out = model(**data, mode='predict')[0]
    stripes = out.pred_sem_seg.data[0, 0, ::16].tolist()
    assert stripes == [3, 2, 1, 0]


def test_inference_needs_a_mask_generator():
    model = make_segmentor('test-vit', mask_generator=None).eval()
    data = batch(model)
    with pytest.raises(RuntimeError, match='mask_generator'):
        model(**data, mode='predict')


def test_text_and_visual_embeddings_must_share_a_space():
    from mmseg_maskclippp.registry import MODELS
    with pytest.raises(ValueError, match='dimensions'):
        MODELS.build(
            dict(
                type='MaskCLIPpp',
                backbone=dict(type='OpenCLIPVisual', model_name='test-vit'),
                text_encoder=dict(type='OpenCLIPTextClassifier',
                                  model_name='test-vit-wide', cache_dir=None),
                decode_head=dict(type='MeanTemplatePSM'),
                train_vocabulary=['a']))
