"""Fine-tuning: TRL's prompt masking on a collated batch, a real LoRA fine-tune of the embedded model served by a real
`llama-server --lora`, and bad inputs that must end in one line with no output directory left behind.

The GGUF -> Hugging Face conversion of the embedded model is cached under agentsim's home (about 50 s once, 2.5 GB);
after that the fine-tune test takes well under a minute on 2 cores."""
import json, os, subprocess
from pathlib import Path
import pytest
import requests
from agentsim.core import AgentsimError
import agentsim.finetune as ft
from agentsim.finetune import FinetuneSettings, agentsim_finetune, demo_dataset, finetune


@pytest.fixture(scope='module')
def tokenizer():
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(ft.hf_from_gguf(ft.resolve_base_model('local')))


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    return demo_dataset(tmp_path_factory.mktemp('data')/'dataset', n_train=4, n_test=2)


def collated(tokenizer, dataset, completion_only: bool, tmp_path) -> list:
    "Every training example as a batch of one from the trainer's own data collator."
    s = FinetuneSettings(str(dataset), str(tmp_path/'out'), completion_only=completion_only)
    trainer = ft.make_trainer(ft.tiny_model(tokenizer), tokenizer, ft.load_planner_dataset(dataset), s, tmp_path/'scratch')
    return [trainer.data_collator([trainer.train_dataset[i]]) for i in range(len(trainer.train_dataset))]


@pytest.mark.parametrize('completion_only', [True, False])
def test_prompt_masking_on_collated_batches(tokenizer, dataset, completion_only, tmp_path):
    data = ft.load_planner_dataset(dataset)
    for example, batch in zip(data['train'], collated(tokenizer, dataset, completion_only, tmp_path)):
        input_ids, labels = batch['input_ids'][0].tolist(), batch['labels'][0].tolist()
        prompt_ids = tokenizer.apply_chat_template(example['prompt'], add_generation_prompt=True, tokenize=True,
                                                   return_dict=True)['input_ids']
        assert input_ids[:len(prompt_ids)] == prompt_ids
        if completion_only:
            assert all(label == -100 for label in labels[:len(prompt_ids)])  # every prompt token is ignored
            first = next(i for i, label in enumerate(labels) if label != -100)
            assert first == len(prompt_ids)
            plan_ids = tokenizer(example['completion'][0]['content'])['input_ids']
            assert input_ids[first:first + len(plan_ids)] == plan_ids  # the loss starts with the plan's first token
            assert all(label != -100 for label in labels[first:])
        else:
            assert labels == input_ids  # nothing is masked


@pytest.fixture(scope='module')
def run_dir(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp('finetune')/'run'
    summary = finetune(FinetuneSettings(str(dataset), str(out), max_steps=2, learning_rate=2e-3))
    assert summary['steps'] == 2 and summary['adapter_gguf']
    return out


def test_finetune_writes_adapter_settings_and_history(run_dir, dataset):
    names = {p.name for p in run_dir.iterdir()}
    assert {'adapter_model.safetensors', 'adapter_config.json', 'adapter.gguf', 'settings.json', 'loss_history.json',
            'tokenizer.json', 'tokenizer_config.json'} <= names
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith('.')]  # no temporary directory left
    settings = json.loads((run_dir/'settings.json').read_text())
    assert settings['base_model'] == 'local' and Path(settings['base_gguf']).is_file()
    assert (settings['lora_r'], settings['lora_alpha'], settings['completion_only'], settings['max_steps']) == (16, 8, True, 2)
    history = json.loads((run_dir/'loss_history.json').read_text())
    assert any('loss' in entry for entry in history) and history[-1]['step'] == 2
    assert any('eval_loss' in entry and entry['step'] == 2 for entry in history)


def test_gguf_adapter_layout(run_dir):
    import gguf
    reader = gguf.GGUFReader(str(run_dir/'adapter.gguf'))
    text = lambda key: bytes(reader.fields[key].parts[reader.fields[key].data[0]]).decode()
    assert (text('general.type'), text('adapter.type'), text('general.architecture')) == ('adapter', 'lora', 'qwen2')
    assert float(reader.fields['adapter.lora.alpha'].parts[-1][0]) == 8.0
    tensors = {t.name: [int(d) for d in t.shape] for t in reader.tensors}
    assert len(tensors) == 24 * 4 * 2  # 24 blocks, q/k/v/o, A and B
    assert tensors['blk.0.attn_q.weight.lora_a'] == [896, 16] and tensors['blk.0.attn_q.weight.lora_b'] == [16, 896]
    assert tensors['blk.23.attn_k.weight.lora_b'] == [16, 128]  # 2 kv heads of 64


def test_llama_server_applies_the_adapter(run_dir):
    from agentsim.llm import LLM, OpenAIChat
    from agentsim.local import embedded_server, stop_embedded_server
    from agentsim.planners import FinetunedPlanner
    question = {'messages': [{'role': 'user', 'content': 'User request: What is the population of Lima?\n'
                                                         'Previous steps: none.\nPlan the next step as JSON.'}],
                'max_tokens': 40, 'temperature': 0, 'seed': 0}
    answers = {}
    try:
        for spec in ('local', f'local+lora:{run_dir}'):
            server = embedded_server(spec)
            adapters = requests.get(f'{server.url}/lora-adapters', timeout=30).json()
            assert [Path(a['path']) for a in adapters] == ([] if spec == 'local' else [run_dir/'adapter.gguf'])
            reply = requests.post(f'{server.url}/v1/chat/completions', json=question, timeout=120).json()
            answers[spec] = reply['choices'][0]['message']['content']
        assert answers['local'] != answers[f'local+lora:{run_dir}'], answers
        llm = LLM(OpenAIChat('finetuned', base_url=f'{server.url}/v1'), max_reasks=1)
        plan = FinetunedPlanner(llm, max_tokens=256).plan('How many inhabitants does Lima have?', []).plan  # one call that parses
        assert plan['selected_tool'] and plan['task'].strip()
    finally:
        stop_embedded_server()


def test_adapter_reexport_is_identical(run_dir, tmp_path):
    again = ft.export_gguf_adapter(run_dir, tmp_path/'again.gguf')
    assert again.read_bytes() == (run_dir/'adapter.gguf').read_bytes()


# --- bad inputs: one line naming the flag or file, exit status 2, no output directory -------------------------------

def fails_with_one_line(capsys, out: Path, **flags) -> str:
    capsys.readouterr()  # drop what came before (progress bars of datasets)
    with pytest.raises(SystemExit) as exit_info:
        agentsim_finetune(output_dir=str(out), **flags)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and '\n' not in err, err
    assert not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(f'.{out.name}')]
    return err


def save_splits(path: Path, **splits) -> Path:
    from datasets import Dataset, DatasetDict
    DatasetDict({name: Dataset.from_dict(columns) for name, columns in splits.items()}).save_to_disk(str(path))
    return path


def test_empty_dataset(tmp_path, capsys):
    data = save_splits(tmp_path/'d', train={'prompt': [], 'target': []}, test={'prompt': [], 'target': []})
    assert 'the train split is empty' in fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(data))


def test_dataset_without_expected_columns(tmp_path, capsys):
    data = save_splits(tmp_path/'d', train={'text': ['<s>[INST] a [/INST] b</s>']}, test={'text': ['x']})
    err = fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(data))
    assert '--dataset_dir' in err and "no 'prompt' column" in err


def test_dataset_without_a_validation_split(tmp_path, capsys):
    data = save_splits(tmp_path/'d', train={'prompt': ['p'], 'target': ['t']})
    assert 'needs a train and a test (or validation) split' in fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(data))


def test_not_a_dataset(tmp_path, capsys):
    (tmp_path/'d').mkdir()
    assert 'no saved Hugging Face DatasetDict' in fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(tmp_path/'d'))
    assert 'no such directory' in fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(tmp_path/'nowhere'))


@pytest.mark.parametrize('base', ['/no/such/model.gguf', './no/such/model-dir'])
def test_base_model_not_found(dataset, tmp_path, capsys, base):
    err = fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(dataset), base_model=base)
    assert f'--base_model {base}' in err


def test_hf_directory_without_config(dataset, tmp_path, capsys):
    (tmp_path/'model').mkdir()
    err = fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(dataset), base_model=str(tmp_path/'model'))
    assert 'not a Hugging Face model directory' in err


def test_gguf_architecture_transformers_cannot_load(dataset, tmp_path, capsys, monkeypatch):
    import gguf, numpy as np
    monkeypatch.setenv('AGENTSIM_HOME', str(tmp_path/'home'))
    writer = gguf.GGUFWriter(str(tmp_path/'odd.gguf'), 'rwkv6')
    writer.add_uint32('rwkv6.block_count', 1)
    writer.add_tensor('token_embd.weight', np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file(); writer.write_kv_data_to_file(); writer.write_tensors_to_file(); writer.close()
    err = fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(dataset), base_model=str(tmp_path/'odd.gguf'))
    assert "transformers cannot load GGUF models of architecture 'rwkv6'" in err


def test_too_little_memory(dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ft, 'available_memory', lambda: 2**30)
    err = fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(dataset))
    assert '--base_model local: too little memory' in err


def test_packing_is_refused_with_masking(dataset, tmp_path, capsys):
    err = fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(dataset), packing='true', completion_only='true')
    assert '--packing' in err and '--completion_only' in err


def test_bad_boolean_flag(dataset, tmp_path, capsys):
    err = fails_with_one_line(capsys, tmp_path/'out', dataset_dir=str(dataset), completion_only='maybe')
    assert '--completion_only must be true or false' in err


def test_existing_output_dir_is_kept(dataset, tmp_path, capsys):
    out = tmp_path/'out'
    out.mkdir()
    (out/'keep.txt').write_text('mine')
    capsys.readouterr()
    with pytest.raises(SystemExit): agentsim_finetune(dataset_dir=str(dataset), output_dir=str(out))
    assert 'already exists and is not empty' in capsys.readouterr().err
    assert (out/'keep.txt').read_text() == 'mine'


def test_interrupted_training_leaves_no_output(dataset, tmp_path, capsys, monkeypatch):
    def interrupted(model, tokenizer, data, s, work_dir, hardware=None):
        Path(work_dir).mkdir(parents=True)
        (Path(work_dir)/'checkpoint.bin').write_bytes(b'half')
        raise KeyboardInterrupt
    monkeypatch.setattr(ft, 'make_trainer', interrupted)
    out = tmp_path/'out'
    with pytest.raises(SystemExit) as exit_info: agentsim_finetune(dataset_dir=str(dataset), output_dir=str(out))
    assert exit_info.value.code == 130
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith('.out')]


def test_the_finetuned_planner_runs_from_its_spec(run_dir, tmp_path, fault_server, monkeypatch):
    "`--planner finetuned --planner_llm local+lora:DIR` serves the adapter itself; agentsim_check accepts the spec too."
    from agentsim.local import stop_embedded_server
    from agentsim.trajectories import generate_trajectories
    monkeypatch.setenv('AGENTSIM_CACHE', 'off')
    (tmp_path/'requests').mkdir()
    (tmp_path/'requests'/'1.txt').write_text('```json\n{"topic": "T", "requests": [{"request": "How many people live in Lima?"}]}\n```')
    fault_server.default_content = 'Lima has about 10 million inhabitants.'
    try:
        summary = generate_trajectories(tmp_path/'requests', tmp_path/'out', planner='finetuned',
                                        planner_llm=f'local+lora:{run_dir}', llm='openai:m',
                                        base_url=f'{fault_server.url}/v1', seed=1, max_steps=2, progress=False)
    finally: stop_embedded_server()
    assert summary['failures'] == [] and summary['done'] + summary['unfinished'] == 1  # every plan parsed
    record = json.loads((tmp_path/'out'/'meta'/'run.json').read_text())
    assert record['planner_model'] == f'the local model local+lora:{run_dir}' and record['prompt_format'] == 'original'
    check = subprocess.run(['agentsim_check', f'--llm=local+lora:{run_dir}'], capture_output=True, text=True, timeout=300,
                           env={**os.environ, 'AGENTSIM_CACHE': 'off'})
    assert check.returncode == 0, check.stderr
    bad = subprocess.run(['agentsim_check', f'--llm=local+lora:{tmp_path}'], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith('error: local+lora:'), bad.stderr
