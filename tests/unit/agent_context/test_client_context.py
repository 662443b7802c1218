"""Client context: ranking, the token budget, the missing-profile error and the API summary.

The store is a real LocalObjectStore in a temporary folder (the contract suite shows every store behaves
the same).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from marketing_agent.agent.context import (
    CHARS_PER_TOKEN,
    TRUNCATION_NOTE,
    Category,
    ClientContext,
    assemble_client_context,
    categorize,
    estimate_tokens,
    order_client_files,
    summarize_client_files,
)
from marketing_agent.errors import ClientContextMissing, InvalidStorageKey
from marketing_agent.storage import LocalObjectStore, ObjectStore, keys


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return LocalObjectStore(tmp_path)


async def _upload(store: ObjectStore, slug: str, files: dict[str, str]) -> None:
    for path, text in files.items():
        await store.put(keys.client_file_key(slug, path), text.encode("utf-8"))


def test_estimate_is_four_characters_per_token_rounded_up() -> None:
    assert CHARS_PER_TOKEN == 4
    assert [estimate_tokens(t) for t in ["", "a", "abcd", "abcde", "x" * 400]] == [0, 1, 1, 2, 100]


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("profile.md", Category.PROFILE),
        ("about.md", Category.PROFILE),
        ("company_profile.md", Category.PROFILE),
        ("brand/voice.md", Category.BRAND_VOICE),
        ("brand-voice.md", Category.BRAND_VOICE),
        ("tone-of-voice.md", Category.BRAND_VOICE),
        ("brand/guidelines.md", Category.BRAND_VOICE),
        ("brand/messaging.md", Category.MESSAGING),
        ("positioning.md", Category.MESSAGING),
        ("value-proposition.md", Category.MESSAGING),
        ("icp.md", Category.AUDIENCE),
        ("audiences/primary-icp.md", Category.AUDIENCE),
        ("personas.md", Category.AUDIENCE),
        ("customer-profile.md", Category.AUDIENCE),
        ("product.md", Category.PRODUCT),
        ("product-overview.md", Category.PRODUCT),
        ("pricing.md", Category.PRICING),
        ("competitors.md", Category.COMPETITORS),
        ("competitors/globex.md", Category.COMPETITORS),
        ("acme-vs-globex.md", Category.COMPETITORS),
        ("proof.md", Category.PROOF),
        ("case-studies/initech.md", Category.PROOF),
        ("testimonials.md", Category.PROOF),
        ("product/pricing.md", Category.PRICING),
        ("audiences/enterprise.md", Category.AUDIENCE),
        ("brand/voice-and-tone.md", Category.BRAND_VOICE),
        ("ideal-customer-profile.md", Category.AUDIENCE),
        ("Brand Voice.md", Category.BRAND_VOICE),
        ("notes.md", Category.OTHER),
        ("history/profile.md", Category.OTHER),  # only a top-level profile is the profile
    ],
)
def test_categorize_common_names(path: str, category: Category) -> None:
    assert categorize(path) == category


def test_order_is_by_relevance_then_alphabetical() -> None:
    shuffled = [
        "zeta.md",
        "testimonials.md",
        "competitors.md",
        "pricing.md",
        "product.md",
        "icp.md",
        "brand/messaging.md",
        "brand/voice.md",
        "about.md",
        "profile.md",
        "alpha.md",
    ]
    assert order_client_files(shuffled) == [
        "profile.md",
        "about.md",
        "brand/voice.md",
        "brand/messaging.md",
        "icp.md",
        "product.md",
        "pricing.md",
        "competitors.md",
        "testimonials.md",
        "alpha.md",
        "zeta.md",
    ]


async def test_assembles_every_file_in_order_when_the_budget_allows(store: ObjectStore) -> None:
    await _upload(
        store,
        "acme",
        {
            "notes.md": "Misc notes.",
            "competitors.md": "Globex is the main rival.",
            "brand/voice.md": "Plain, warm, no jargon.",
            "profile.md": "# Acme\n\nWe sell anvils to coyotes.",
            "icp.md": "Desert hunters.",
        },
    )
    await store.put("clients/acme/logo.png", b"\x89PNG")  # not markdown: ignored
    await store.put("clients/acme-other/profile.md", b"another client")  # a sibling prefix: ignored

    context = await assemble_client_context(store, "acme")

    assert isinstance(context, ClientContext)
    assert context.slug == "acme"
    assert context.files_included == ("profile.md", "brand/voice.md", "icp.md", "competitors.md", "notes.md")
    assert context.files_truncated == ()
    assert context.files_omitted == ()
    positions = [context.text.index(f'<client_file path="{p}">') for p in context.files_included]
    assert positions == sorted(positions)
    assert "We sell anvils to coyotes." in context.text
    assert "another client" not in context.text
    assert context.estimated_tokens == estimate_tokens(context.text)


async def test_the_file_that_does_not_fit_is_cut_at_a_paragraph_and_the_rest_omitted(
    store: ObjectStore,
) -> None:
    profile = "# Acme\n\nWe sell anvils."
    rule = " ".join(["be concise and concrete."] * 8)
    voice_paragraphs = [f"Voice rule {n}: {rule}" for n in range(1, 21)]
    await _upload(
        store,
        "acme",
        {
            "profile.md": profile,
            "brand/voice.md": "\n\n".join(voice_paragraphs),
            "competitors.md": "Globex.",
            "pricing.md": "Anvils cost $99.",
        },
    )
    budget = 400
    context = await assemble_client_context(store, "acme", budget_tokens=budget)

    assert context.files_included == ("profile.md", "brand/voice.md")
    assert context.files_truncated == ("brand/voice.md",)
    assert context.files_omitted == ("pricing.md", "competitors.md")
    assert context.estimated_tokens <= budget
    assert context.estimated_tokens > budget * 0.8  # the budget is used, not wasted
    assert '<client_file path="brand/voice.md" truncated="true">' in context.text
    assert TRUNCATION_NOTE in context.text
    voice_body = context.text.split('truncated="true">\n', 1)[1]
    kept = voice_body.split(f"\n\n{TRUNCATION_NOTE}", 1)[0]
    # Cut at a paragraph boundary: whole paragraphs only, the first ones.
    kept_paragraphs = kept.split("\n\n")
    assert 1 <= len(kept_paragraphs) < len(voice_paragraphs)
    assert kept_paragraphs == voice_paragraphs[: len(kept_paragraphs)]
    assert "Globex" not in context.text


async def test_a_huge_profile_alone_is_truncated_not_dropped(store: ObjectStore) -> None:
    await _upload(store, "acme", {"profile.md": "word " * 10_000, "icp.md": "Hunters."})
    context = await assemble_client_context(store, "acme", budget_tokens=100)
    assert context.files_included == ("profile.md",)
    assert context.files_truncated == ("profile.md",)
    assert context.files_omitted == ("icp.md",)
    assert 0 < context.estimated_tokens <= 100


async def test_a_budget_too_small_for_anything_omits_everything(store: ObjectStore) -> None:
    await _upload(store, "acme", {"profile.md": "We sell anvils to coyotes in the desert."})
    context = await assemble_client_context(store, "acme", budget_tokens=5)
    assert context.text == ""
    assert context.files_included == ()
    assert context.files_omitted == ("profile.md",)
    with pytest.raises(ValueError, match="budget_tokens"):
        await assemble_client_context(store, "acme", budget_tokens=0)


async def test_empty_files_are_skipped(store: ObjectStore) -> None:
    await _upload(store, "acme", {"profile.md": "Acme.", "notes.md": "  \n\n "})
    context = await assemble_client_context(store, "acme")
    assert context.files_included == ("profile.md",)
    assert context.files_omitted == ()


async def test_a_client_without_a_profile_is_a_non_retryable_error(store: ObjectStore) -> None:
    await _upload(store, "acme", {"brand/voice.md": "Warm."})
    with pytest.raises(ClientContextMissing) as info:
        await assemble_client_context(store, "acme")
    assert info.value.retryable is False
    assert "profile.md" in info.value.message
    assert "clients/acme/profile.md" in info.value.message
    assert info.value.details["missing"] == "profile.md"


async def test_a_client_with_no_files_at_all_is_the_same_error(store: ObjectStore) -> None:
    with pytest.raises(ClientContextMissing, match="upload its profile"):
        await assemble_client_context(store, "nobody")


async def test_an_empty_profile_counts_as_missing(store: ObjectStore) -> None:
    await _upload(store, "acme", {"profile.md": "\n\n"})
    with pytest.raises(ClientContextMissing, match="empty profile"):
        await assemble_client_context(store, "acme")


async def test_a_malformed_slug_is_refused(store: ObjectStore) -> None:
    with pytest.raises(InvalidStorageKey):
        await assemble_client_context(store, "../etc")


async def test_paths_in_wrappers_are_escaped(store: ObjectStore) -> None:
    await _upload(store, "acme", {"profile.md": "Acme.", 'notes "x" <y>.md': "Body."})
    context = await assemble_client_context(store, "acme")
    assert '<client_file path="notes &quot;x&quot; &lt;y&gt;.md">' in context.text


async def test_summary_flags(store: ObjectStore) -> None:
    empty = await summarize_client_files(store, "acme")
    assert empty.to_api() == {
        "hasProfile": False,
        "hasBrandVoice": False,
        "hasBrandMessaging": False,
        "hasPrimaryIcp": False,
        "hasProductOverview": False,
        "hasCompetitors": False,
    }
    await _upload(
        store,
        "acme",
        {
            "profile.md": "Acme.",
            "brand/voice.md": "Warm.",
            "audiences/primary-icp.md": "Hunters.",
            "competitors/globex.md": "Rival.",
        },
    )
    summary = await summarize_client_files(store, "acme")
    assert summary.has_profile
    assert summary.has_brand_voice
    assert not summary.has_brand_messaging
    assert summary.has_primary_icp
    assert not summary.has_product_overview
    assert summary.has_competitors
    await _upload(store, "acme", {"messaging.md": "Anvils that last.", "product-overview.md": "Anvils."})
    assert all((await summarize_client_files(store, "acme")).to_api().values())
