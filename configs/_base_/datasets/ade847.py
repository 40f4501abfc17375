# ADE20K_2021_17_01 validation (2,000 images), 847 classes; 16-bit
# label maps (ignore 65535) and the class names written by
# tools/dataset_converters/ade20k_847.py into the release folder. The model
# predicts the protocol's class list (built-in 'ade847'); the dataset checks
# that its label order is the protocol's.
_base_ = ['./ade150.py']
data_root = 'data/ade/ADE20K_2021_17_01'
test_vocabulary = 'ade847'
ignore_index = 65535
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ADE20K847Dataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='images/ADE/validation',
            seg_map_path='annotations_847/validation'),
        vocabulary_file='ade847_vocabulary.txt',
        test_vocabulary=test_vocabulary,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='ResizeShortestEdge', scale=1024, max_size=2048),
            dict(type='LoadUInt16Annotations'),
            dict(type='PackSegInputs'),
        ]))
test_evaluator = dict(ignore_index=ignore_index)
val_dataloader = test_dataloader
val_evaluator = test_evaluator
