"""The skill loader: front matter validation, the three sources and their order, the catalog."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from marketing_agent.agent.skill import SkillCategory, SkillSource
from marketing_agent.agent.skills import (
    SkillCatalog,
    SkillLoadError,
    builtin_skills_dir,
    load_skill_catalog,
    load_skill_folder,
)
from marketing_agent.errors import SkillInvalid

BODY = "# Do the thing\n\nStep one, then step two.\n"


def skill_md(name: str, description: str = "Writes things. Use when things are needed.", extra: str = "") -> str:
    return f"---\nname: {name}\ndescription: {description}\n{extra}---\n{BODY}"


def make_skill(root: Path, folder: str, text: str | None = None, **files: str) -> Path:
    path = root / folder
    path.mkdir(parents=True)
    (path / "SKILL.md").write_text(text if text is not None else skill_md(folder), encoding="utf-8")
    for relative, content in files.items():
        target = path / relative.replace("__", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return path


def reason_of(path: Path) -> str:
    with pytest.raises(SkillInvalid) as info:
        load_skill_folder(path, SkillSource.DIRECTORY)
    assert info.value.details["path"].endswith("SKILL.md") or info.value.details["path"] == str(path)
    return str(info.value.details["reason"])


# --- one folder ----------------------------------------------------------------------------------------
def test_a_full_skill_loads_with_metadata_rules_and_references(tmp_path: Path) -> None:
    extra = (
        "metadata:\n  type: copy\n  category: cro\n  model: claude-x\n  max_tokens: 1500\n  temperature: 0.4\n"
        "  output_format: markdown\n  trigger_keywords: [headline, tagline]\n"
        "  related_skills: [copy-editing]\n  required_sections: ['## Headlines', '## Body']\n"
    )
    folder = make_skill(
        tmp_path,
        "headline-writer",
        skill_md("headline-writer", extra=extra),
        **{
            "RULES.md": "- No invented numbers.\n",
            "references__patterns.md": "# Patterns\n",
            "notes.txt": "x",
        },
    )
    skill = load_skill_folder(folder, SkillSource.DIRECTORY)
    assert skill.name == "headline-writer"
    assert skill.description == "Writes things. Use when things are needed."
    assert skill.instructions == BODY.strip()
    assert skill.source is SkillSource.DIRECTORY
    assert skill.rules == "- No invented numbers."
    assert skill.references == (("references/patterns.md", "# Patterns"),)
    meta = skill.metadata
    assert (meta.type, meta.model, meta.max_tokens, meta.temperature) == ("copy", "claude-x", 1500, 0.4)
    assert meta.output_format == "markdown"
    assert meta.category is SkillCategory.CRO
    assert meta.trigger_keywords == ("headline", "tagline")
    assert meta.related_skills == ("copy-editing",)
    assert meta.required_sections == ("## Headlines", "## Body")


def test_a_minimal_skill_gets_default_metadata(tmp_path: Path) -> None:
    skill = load_skill_folder(make_skill(tmp_path, "plain"), SkillSource.BUILTIN)
    assert skill.rules is None
    assert skill.references == ()
    assert skill.metadata.type == "general"
    assert skill.metadata.category is None  # optional for skills written before categories existed
    assert skill.metadata.required_sections == ()


def test_nested_references_are_read_in_path_order(tmp_path: Path) -> None:
    folder = make_skill(
        tmp_path,
        "refs",
        **{"references__b.md": "B", "references__a__deep.md": "D", "references__img.png": "x"},
    )
    skill = load_skill_folder(folder, SkillSource.DIRECTORY)
    assert [path for path, _ in skill.references] == ["references/a/deep.md", "references/b.md"]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("Upper", "lowercase letters"),
        ("double--hyphen", "single hyphens"),
        ("-leading", "leading or trailing"),
        ("trailing-", "leading or trailing"),
        ("under_score", "lowercase letters"),
        ("a" * 65, "1-64 characters"),
    ],
)
def test_bad_names_are_refused(tmp_path: Path, name: str, fragment: str) -> None:
    folder = make_skill(tmp_path, "folder", skill_md(name))
    assert fragment in reason_of(folder)


def test_a_64_character_name_is_fine(tmp_path: Path) -> None:
    name = "a" * 64
    assert load_skill_folder(make_skill(tmp_path, name), SkillSource.DIRECTORY).name == name


def test_name_must_equal_the_folder(tmp_path: Path) -> None:
    folder = make_skill(tmp_path, "folder-name", skill_md("other-name"))
    assert "must equal the folder name 'folder-name'" in reason_of(folder)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("---\nname: x\n---\nbody\n", "non-empty 'description'"),
        ("---\nname: x\ndescription: '   '\n---\nbody\n", "non-empty 'description'"),
        (f"---\nname: x\ndescription: {'d' * 1025}\n---\nbody\n", "1025 characters, at most 1024"),
        ("---\ndescription: d\n---\nbody\n", "'name' string"),
        ("---\nname: x\ndescription: [unclosed\n---\nbody\n", "not valid YAML"),
        ("---\n- a list\n---\nbody\n", "must be a YAML mapping"),
        ("name: x\ndescription: d\n\nbody\n", "no YAML front matter"),
        ("---\nname: x\ndescription: d\nbody without closing\n", "no YAML front matter"),
        ("---\nname: x\ndescription: d\n---\n   \n", "instructions"),
        ("---\nname: x\ndescription: d\nmetadata: [1]\n---\nbody\n", "metadata must be a mapping"),
        ("---\nname: x\ndescription: d\nmetadata:\n  max_tokens: -5\n---\nb\n", "positive integer"),
        ("---\nname: x\ndescription: d\nmetadata:\n  max_tokens: true\n---\nb\n", "positive integer"),
        ("---\nname: x\ndescription: d\nmetadata:\n  temperature: 3\n---\nb\n", "between 0 and 2"),
        ("---\nname: x\ndescription: d\nmetadata:\n  temperature: hot\n---\nb\n", "must be a number"),
        ("---\nname: x\ndescription: d\nmetadata:\n  trigger_keywords: seo\n---\nb\n", "list of non-empty"),
        ("---\nname: x\ndescription: d\nmetadata:\n  related_skills: [Bad_Name]\n---\nb\n", "related_skills"),
        ("---\nname: x\ndescription: d\nmetadata:\n  type: 5\n---\nb\n", "metadata.type"),
        (
            "---\nname: x\ndescription: d\nmetadata:\n  category: growth\n---\nb\n",
            "metadata.category 'growth' is not one of copywriting, cro, email, seo, strategy, research, ads, social",
        ),
        ("---\nname: x\ndescription: d\nmetadata:\n  category: CRO\n---\nb\n", "'CRO' is not one of"),
        ("---\nname: x\ndescription: d\nmetadata:\n  category: [seo]\n---\nb\n", "metadata.category must be one"),
    ],
)
def test_invalid_front_matter_is_refused_with_the_file_and_reason(tmp_path: Path, text: str, fragment: str) -> None:
    folder = make_skill(tmp_path, "x", text)
    with pytest.raises(SkillInvalid) as info:
        load_skill_folder(folder, SkillSource.DIRECTORY)
    assert fragment in info.value.details["reason"]
    assert info.value.details["path"] == f"{folder}/SKILL.md"
    assert str(folder / "SKILL.md") in info.value.message


def test_a_description_of_exactly_1024_characters_is_fine(tmp_path: Path) -> None:
    folder = make_skill(tmp_path, "x", skill_md("x", description="d" * 1024))
    assert len(load_skill_folder(folder, SkillSource.DIRECTORY).description) == 1024


def test_a_folder_without_skill_md_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SkillInvalid, match=r"missing SKILL\.md"):
        load_skill_folder(tmp_path / "empty", SkillSource.DIRECTORY)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    folder = make_skill(tmp_path, "x")
    (folder / "RULES.md").write_bytes(b"\xff\xfe rules")
    with pytest.raises(SkillInvalid, match=r"RULES\.md: file is not valid UTF-8"):
        load_skill_folder(folder, SkillSource.DIRECTORY)


def test_windows_line_endings_and_a_bom_are_accepted(tmp_path: Path) -> None:
    text = "\ufeff---\r\nname: x\r\ndescription: d\r\n---\r\nbody\r\n"
    folder = make_skill(tmp_path, "x", text)
    skill = load_skill_folder(folder, SkillSource.DIRECTORY)
    assert (skill.name, skill.description, skill.instructions) == ("x", "d", "body")


# --- sources and precedence --------------------------------------------------------------------------
@dataclass(frozen=True)
class Info:
    key: str
    size: int
    modified: datetime


class MemoryStore:
    """The two ObjectStore calls the loader uses, over a dict."""

    def __init__(self, objects: dict[str, str | bytes]) -> None:
        self.objects = {k: v.encode() if isinstance(v, str) else v for k, v in objects.items()}

    async def list(self, prefix: str) -> list[Info]:
        now = datetime.now(UTC)
        return [Info(k, len(v), now) for k, v in sorted(self.objects.items()) if k.startswith(prefix)]

    async def get(self, key: str) -> bytes:
        return self.objects[key]


class BrokenStore:
    async def list(self, prefix: str) -> list[Info]:
        raise ConnectionError("storage is down")

    async def get(self, key: str) -> bytes:
        raise AssertionError("not reached")


async def test_builtins_load_without_other_sources() -> None:
    catalog = await load_skill_catalog()
    assert catalog.errors == []
    assert len(catalog) >= 12
    assert {s.source for s in catalog.all()} == {SkillSource.BUILTIN}
    assert builtin_skills_dir().is_dir()


async def test_skills_dir_overrides_builtins_and_adds_new_ones(tmp_path: Path) -> None:
    make_skill(tmp_path, "copywriting", skill_md("copywriting", description="Our house copywriting."))
    make_skill(tmp_path, "house-style")
    catalog = await load_skill_catalog(skills_dir=tmp_path)
    copy = catalog.get("copywriting")
    assert copy is not None
    assert copy.source is SkillSource.DIRECTORY
    assert copy.description == "Our house copywriting."
    assert "house-style" in catalog
    assert catalog.get("positioning") is not None  # untouched built-ins stay


async def test_storage_overrides_skills_dir_and_builtins(tmp_path: Path) -> None:
    make_skill(tmp_path, "copywriting", skill_md("copywriting", description="From the folder."))
    store = MemoryStore(
        {
            "skills/copywriting/SKILL.md": skill_md("copywriting", description="From storage."),
            "skills/copywriting/RULES.md": "Never shout.",
            "skills/copywriting/references/tone.md": "# Tone",
            "skills/copywriting/references/logo.png": b"\x89PNG",
            "skills/only-in-store/SKILL.md": skill_md("only-in-store"),
            "clients/acme/profile.md": "not a skill",
        }
    )
    catalog = await load_skill_catalog(skills_dir=tmp_path, store=store)
    copy = catalog.get("copywriting")
    assert copy is not None
    assert (copy.source, copy.description, copy.rules) == (
        SkillSource.STORAGE,
        "From storage.",
        "Never shout.",
    )
    assert copy.references == (("references/tone.md", "# Tone"),)
    only = catalog.get("only-in-store")
    assert only is not None
    assert only.source is SkillSource.STORAGE
    assert catalog.errors == []


async def test_invalid_skills_are_reported_and_skipped_keeping_the_earlier_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_skill(tmp_path, "copywriting", "---\nname: copywriting\n---\nno description\n")
    make_skill(tmp_path, "fine")
    (tmp_path / "no-skill-file").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "README.md").write_text("not a skill folder")
    store = MemoryStore(
        {
            "skills/wrong-folder/SKILL.md": skill_md("other"),
            "skills/rules-only/RULES.md": "rules without a skill",
        }
    )
    with caplog.at_level(logging.WARNING, logger="marketing_agent.agent.skills"):
        catalog = await load_skill_catalog(skills_dir=tmp_path, store=store)
    copy = catalog.get("copywriting")
    assert copy is not None
    assert copy.source is SkillSource.BUILTIN  # the broken override did not replace it
    assert "fine" in catalog
    assert "wrong-folder" not in catalog
    errors = {e.path: e.reason for e in catalog.errors}
    assert errors == {
        f"{tmp_path}/copywriting/SKILL.md": "front matter needs a non-empty 'description' string",
        f"{tmp_path}/no-skill-file": "missing SKILL.md",
        "skills/rules-only": "missing SKILL.md",
        "skills/wrong-folder/SKILL.md": "name 'other' must equal the folder name 'wrong-folder'",
    }
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{tmp_path}/no-skill-file: missing SKILL.md" in logged
    assert "skills/wrong-folder/SKILL.md" in logged


async def test_a_missing_skills_dir_is_an_error_not_a_crash(tmp_path: Path) -> None:
    catalog = await load_skill_catalog(skills_dir=tmp_path / "nope")
    assert catalog.errors == [SkillLoadError(str(tmp_path / "nope"), "SKILLS_DIR is not an existing directory")]
    assert len(catalog) >= 12


async def test_storage_that_is_down_leaves_the_other_sources_loaded() -> None:
    catalog = await load_skill_catalog(store=BrokenStore())
    assert len(catalog) >= 12
    assert len(catalog.errors) == 1
    assert catalog.errors[0].path == "skills/"
    assert "storage is down" in catalog.errors[0].reason


# --- the catalog -------------------------------------------------------------------------------------
def test_catalog_lists_sorted_by_name(tmp_path: Path) -> None:
    catalog = SkillCatalog()
    catalog.add(load_skill_folder(make_skill(tmp_path, n), SkillSource.DIRECTORY) for n in ("zeta", "alpha", "mid"))
    assert catalog.names() == ["alpha", "mid", "zeta"]
    assert [s.name for s in catalog.all()] == ["alpha", "mid", "zeta"]
    assert catalog.get("missing") is None


def _keyword_skill(root: Path, name: str, keywords: list[str], description: str) -> None:
    extra = f"metadata:\n  trigger_keywords: [{', '.join(keywords)}]\n"
    make_skill(root, name, skill_md(name, description=description, extra=extra))


async def test_suggest_ranks_by_keywords_name_and_description(tmp_path: Path) -> None:
    _keyword_skill(tmp_path, "email-sequence", ["drip campaign", "onboarding emails"], "Plans email sequences.")
    _keyword_skill(tmp_path, "seo-audit", ["seo", "rankings"], "Audits a site for search engines.")
    _keyword_skill(tmp_path, "copywriting", ["headline"], "Writes page copy and emails.")
    catalog = SkillCatalog()
    catalog.add(load_skill_folder(p, SkillSource.DIRECTORY) for p in sorted(tmp_path.iterdir()))

    assert [s.name for s in catalog.suggest("Plan a drip campaign of onboarding emails")] == [
        "email-sequence",
        "copywriting",
    ]
    assert catalog.suggest("why did our SEO rankings drop?")[0].name == "seo-audit"
    assert [s.name for s in catalog.suggest("a new headline please", limit=1)] == ["copywriting"]
    assert catalog.suggest("the weather is nice") == []
    assert catalog.suggest("") == []
    assert catalog.suggest("seo", limit=0) == []


async def test_the_real_in_memory_object_store_works_as_a_source() -> None:
    from marketing_agent.agent.skills import STORAGE_PREFIX
    from marketing_agent.storage import MemoryObjectStore, keys

    assert STORAGE_PREFIX == keys.SKILLS_ROOT
    store = MemoryObjectStore()
    await store.put(keys.skill_file_key("house-tone", "SKILL.md"), skill_md("house-tone").encode())
    await store.put(keys.skill_file_key("house-tone", "references/words.md"), b"# Words\n")
    catalog = await load_skill_catalog(store=store)
    skill = catalog.get("house-tone")
    assert skill is not None
    assert skill.source is SkillSource.STORAGE
    assert skill.references == (("references/words.md", "# Words"),)


def test_a_name_with_a_trailing_newline_is_not_valid() -> None:
    from marketing_agent.agent.skills import validate_skill_name

    assert validate_skill_name("copywriting") is None
    assert validate_skill_name("copywriting\n") is not None
    assert validate_skill_name("") is not None


def test_a_symlink_loop_under_references_does_not_hang(tmp_path: Path) -> None:
    folder = make_skill(tmp_path, "loop", **{"references__a.md": "# A"})
    (folder / "references" / "again").symlink_to(folder / "references", target_is_directory=True)
    skill = load_skill_folder(folder, SkillSource.DIRECTORY)
    assert skill.references[0] == ("references/a.md", "# A")
    assert len(skill.references) == 4  # references/ plus three levels of the loop, then it stops


def test_require_raises_skill_not_found_listing_the_names(tmp_path: Path) -> None:
    from marketing_agent.errors import SkillNotFound

    catalog = SkillCatalog()
    catalog.add([load_skill_folder(make_skill(tmp_path, "alpha"), SkillSource.DIRECTORY)])
    assert catalog.require("alpha").name == "alpha"
    with pytest.raises(SkillNotFound, match="no skill named 'beta'; available: alpha") as info:
        catalog.require("beta")
    assert info.value.details == {"skill": "beta"}
