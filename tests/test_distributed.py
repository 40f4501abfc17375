"""Two CPU processes (gloo) train like one process with the whole batch."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

pytestmark = pytest.mark.slow  # two processes

LABELS = ((0, 1, 2), (3, ), (1, 3), (0, ))


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _build():
    import conftest  # noqa: F401  registers the tiny models
    from conftest import make_segmentor
    torch.manual_seed(0)
    return make_segmentor('test-vit', vocabulary=['red', 'green', 'blue',
                                                  'grey']).train()


def _loss_and_grads(model, data):
    loss = sum(model(**data, mode='loss').values())
    loss.backward()
    return loss.detach(), {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    torch.set_num_threads(1)
    from conftest import batch
    from mmengine.model import MMDistributedDataParallel
    model = _build()
    # frozen text embeddings: each rank encodes its share, then all gather
    calls = []
    encode = model.text_encoder.encode_sentences

    def counting(sentences):
        calls.append(len(sentences))
        return encode(sentences)

    model.text_encoder.encode_sentences = counting
    text = model.text_encoder.embed(model.train_vocabulary)
    assert calls == [2], calls  # 4 sentences (1 template), 2 per rank
    half = LABELS[rank * 2:rank * 2 + 2]
    data = batch(model, labels_per_image=half, seed=rank)
    ddp = MMDistributedDataParallel(model)
    loss = sum(ddp(**data, mode='loss').values())
    loss.backward()  # DDP averages the gradients over the ranks
    dist.all_reduce(loss)
    if rank == 0:
        grads = {
            n: p.grad
            for n, p in model.named_parameters() if p.grad is not None
        }
        torch.save(dict(loss=loss.detach() / world, grads=grads, text=text),
                   out)
    dist.destroy_process_group()


def test_two_processes_match_one_with_the_total_batch(tmp_path):
    out = str(tmp_path / 'rank0.pt')
    mp.spawn(_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    distributed = torch.load(out)

    from conftest import batch
    model = _build()
    # the same four images: the two halves concatenated
    halves = [batch(model, labels_per_image=LABELS[r * 2:r * 2 + 2], seed=r)
              for r in range(2)]
    inputs = torch.cat([h['inputs'] for h in halves])
    samples = halves[0]['data_samples'] + halves[1]['data_samples']
    assert torch.allclose(distributed['text'],
                          model.text_encoder.embed(model.train_vocabulary),
                          atol=1e-6)
    loss, grads = _loss_and_grads(model, dict(inputs=inputs,
                                              data_samples=samples))
    # every image has masks, so B' = 4 here and 2 per rank: the per-rank
    # losses average to the single-process loss
    assert torch.allclose(distributed['loss'], loss, atol=1e-5)
    assert set(distributed['grads']) == set(grads)
    for name, grad in grads.items():
        assert torch.allclose(distributed['grads'][name], grad, atol=1e-5,
                              rtol=1e-4), name
