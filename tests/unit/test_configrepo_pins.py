"""Pin files: written deterministically, read strictly (errors name file, line and field)."""

from __future__ import annotations

import pytest

from ferry.delivery.pins import Pin, move_message, parse_pin, render_pin, short_digest
from ferry.delivery.repoerrors import PinError

D1 = "sha256:" + "ab" * 32
D2 = "sha256:" + "cd" * 32
NAME = "envs/qa/order-service/pin.yaml"

FULL = Pin(
    repository="127.0.0.1:5000/order-service",
    tag="1.4.2-a8f3d21",
    digest=D1,
    git_sha="a8f3d21" + "0" * 33,
    built_at="2026-11-27T05:00:00Z",
    promoted_from="sit",
    promoted_at="2026-11-27T05:10:00Z",
    promoted_by="alice",
    rejected=(D2,),
)


def test_a_full_pin_renders_to_exactly_this_text() -> None:
    assert render_pin(FULL, where="envs/qa/order-service") == (
        "# ferry: the image envs/qa/order-service runs. Written by ferry promote / ferry rollback.\n"
        "repository: 127.0.0.1:5000/order-service\n"
        "tag: 1.4.2-a8f3d21\n"
        f"digest: {D1}\n"
        f"gitSha: a8f3d21{'0' * 33}\n"
        "builtAt: '2026-11-27T05:00:00Z'\n"
        "promotedFrom: sit\n"
        "promotedAt: '2026-11-27T05:10:00Z'\n"
        "promotedBy: alice\n"
        "rejected:\n"
        f"- {D2}\n"
    )


def test_absent_fields_are_left_out_and_rendering_is_repeatable() -> None:
    pin = Pin("127.0.0.1:5000/order-service", "1.0", D1)
    text = render_pin(pin, where="envs/sit/x")
    assert text.splitlines()[1:] == [
        "repository: 127.0.0.1:5000/order-service",
        "tag: '1.0'",
        f"digest: {D1}",
    ]
    assert render_pin(Pin("127.0.0.1:5000/order-service", "1.0", D1), where="envs/sit/x") == text


def test_rendered_pins_read_back_equal() -> None:
    for pin in (FULL, Pin("127.0.0.1:5000/order-service", "1.0", D1)):
        assert parse_pin(render_pin(pin, where="x"), NAME) == pin


def test_hand_written_timestamps_stay_text() -> None:
    text = f"repository: r.example/x\ntag: 1.0.0-abc1234\ndigest: {D1}\npromotedAt: 2026-11-27T05:10:00Z\n"
    assert parse_pin(text, NAME).promoted_at == "2026-11-27T05:10:00Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tag: 1\n", f"{NAME}:1: repository: is required"),
        (
            f"repository: r.example/x\ntag: latest\ndigest: {D1}\n",
            f"{NAME}:2: tag: 'latest' is not an immutable image tag",
        ),
        (
            "repository: r.example/x\ntag: v1\ndigest: sha256:abc\n",
            f"{NAME}:3: digest: must be sha256:<64 lowercase hex>",
        ),
        (
            f"repository: r.example/x:1.0\ntag: v1\ndigest: {D1}\n",
            f"{NAME}:1: repository: must not carry a tag or digest",
        ),
        (
            f"repository: r.example/x\ntag: v1\ndigest: {D1}\ndigset: x\n",
            f"{NAME}:4: digset: unknown key (did you mean 'digest'?)",
        ),
        (
            f"repository: r.example/x\ntag: v1\ndigest: {D1}\nrejected:\n  - {D2}\n  - sha256:nope\n",
            f"{NAME}:6: rejected[1]: must be sha256:<64 lowercase hex>",
        ),
        (f"repository: r.example/x\ntag: [v1]\ndigest: {D1}\n", f"{NAME}:2: tag: must be a non-empty string"),
        ("", f"{NAME}: empty pin file"),
        ("- a\n", f"{NAME}:1: (top level): must be a mapping"),
    ],
)
def test_bad_pin_files_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(PinError) as caught:
        parse_pin(text, NAME)
    assert str(caught.value) == expected


def test_a_pin_cannot_be_built_with_a_mutable_tag_or_a_bad_digest() -> None:
    with pytest.raises(PinError, match="'latest' is not an immutable image tag"):
        Pin("r.example/x", "latest", D1)
    with pytest.raises(PinError, match="digest: must be sha256"):
        Pin("r.example/x", "1.0", "sha256:ABC")


def test_reject_adds_a_digest_once() -> None:
    pin = Pin("r.example/x", "1.0", D1)
    assert pin.reject(D2).reject(D2).rejected == (D2,)
    assert pin.image == f"r.example/x@{D1}"


def test_move_messages_say_what_moved_and_from_where() -> None:
    assert short_digest(D1) == "sha256:abababababab…"
    assert move_message("order-service", FULL, from_env="sit", to_env="qa") == (
        "promote order-service 1.4.2-a8f3d21 (sha256:abababababab…) sit → qa"
    )
    assert move_message("order-service", FULL, to_env="sit") == (
        "promote order-service 1.4.2-a8f3d21 (sha256:abababababab…) build a8f3d21 → sit"
    )
    assert move_message("order-service", FULL, from_env="prod", to_env="prod", verb="rollback").startswith(
        "rollback "
    )
