from __future__ import annotations

import pytest
from django.test.html import Element, parse_html
from django.urls import reverse

from fulfillment.models import Delivery
from tests.factories import CustomFieldFactory
from web.products.checklist import product_checklist


def _post_data(config, rows=(), **changes):
    data = {
        "url": config.url,
        "method": config.method,
        "body_format": config.body_format,
        "instructions": config.instructions,
        "custom_fields-TOTAL_FORMS": str(len(rows)),
        "custom_fields-INITIAL_FORMS": "0",
        **changes,
    }
    for i, (kind, name, value) in enumerate(rows):
        data[f"custom_fields-{i}-kind"] = kind
        data[f"custom_fields-{i}-name"] = name
        data[f"custom_fields-{i}-value"] = value
    return data


@pytest.fixture
def config(product):
    return product.webhook_config


@pytest.fixture
def editor_url(product):
    return reverse("fulfillment:config-edit", args=[product.pk])


def _row_errors(response, index):
    return response.context["formset"].forms[index].errors


def _elements(node, attribute: str) -> list[Element]:
    """Every element under `node` (page order) that carries `attribute`."""
    found = []
    for child in getattr(node, "children", []):
        if isinstance(child, Element):
            if attribute in dict(child.attributes):
                found.append(child)
            found.extend(_elements(child, attribute))
    return found


def _value_cells(response) -> list[Element]:
    """The Static value cell of each Custom Fields row, as the server sent it."""
    return _elements(parse_html(response.content.decode()), "data-value-field")


def test_editor_shows_every_seed_field_label(alice_client, editor_url):
    response = alice_client.get(editor_url)

    for label in (
        "Webhook URL",
        "Request Method",
        "Instructions",
        "Separate Multibuy",
        "Custom Fields",
    ):
        assert label.encode() in response.content


def test_editor_shows_the_saved_instructions_rendered(alice_client, editor_url):
    response = alice_client.get(editor_url)

    assert b"<strong>license key</strong>" in response.content


def test_the_editor_page_carries_only_the_secrets_last_characters(
    alice_client, editor_url, config
):
    response = alice_client.get(editor_url)
    page = response.content.decode()

    assert config.signing_secret not in page
    assert f"whsec_••••••••{config.signing_secret[-4:]}" in page
    reveal = reverse("fulfillment:config-secret-reveal", args=[config.product.pk])
    assert f'href="{reveal}"' in page


def test_the_secret_is_revealed_on_its_own_page_never_stored(alice_client, config):
    url = reverse("fulfillment:config-secret-reveal", args=[config.product.pk])

    response = alice_client.get(url)

    assert response.status_code == 200
    assert config.signing_secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_another_seller_cannot_reveal_the_secret(bob_client, config):
    url = reverse("fulfillment:config-secret-reveal", args=[config.product.pk])

    assert bob_client.get(url).status_code == 404


def test_editor_save_bumps_version_on_change(alice_client, editor_url, config):
    response = alice_client.post(editor_url, _post_data(config, method="GET"))

    assert response.status_code == 302
    config.refresh_from_db()
    assert config.method == "GET"
    assert config.version == 2


def test_editor_save_without_change_keeps_version(alice_client, editor_url, config):
    alice_client.post(editor_url, _post_data(config))

    config.refresh_from_db()
    assert config.version == 1


def test_duplicate_custom_field_names_are_an_error_on_that_row(
    alice_client, editor_url, config
):
    rows = [("static", "plan", "pro"), ("transaction_id", "Plan", "")]

    response = alice_client.post(editor_url, _post_data(config, rows=rows))

    assert response.status_code == 200
    assert not _row_errors(response, 0)
    assert "name" in _row_errors(response, 1)
    assert config.custom_fields.count() == 0


@pytest.mark.parametrize("name", ["quantity", "Event"])
def test_reserved_custom_field_name_is_an_error_on_that_row(
    alice_client, editor_url, config, name
):
    rows = [("static", "plan", "pro"), ("customer_email", name, "")]

    response = alice_client.post(editor_url, _post_data(config, rows=rows))

    assert not _row_errors(response, 0)
    assert "standard field" in _row_errors(response, 1)["name"][0]
    config.refresh_from_db()
    assert config.version == 1


# --- A custom field named like `passthrough`, which became standard later -------


def _saved_rows_data(config, fields, rows):
    """The editor's post of `rows`, the first ones being the saved `fields`."""
    data = _post_data(config, rows=rows)
    data["custom_fields-INITIAL_FORMS"] = str(len(fields))
    for i, field in enumerate(fields):
        data[f"custom_fields-{i}-id"] = str(field.pk)
    return data


@pytest.mark.parametrize("name", ["passthrough", "PassThrough"])
def test_a_new_custom_field_named_passthrough_is_refused(
    alice_client, editor_url, config, name
):
    response = alice_client.post(
        editor_url, _post_data(config, rows=[("static", name, "pro")])
    )

    assert _row_errors(response, 0)["name"] == [
        f"“{name}” is a standard field we always send; choose another name."
    ]
    assert config.custom_fields.count() == 0


def test_renaming_a_custom_field_to_passthrough_is_refused(
    alice_client, editor_url, config
):
    field = CustomFieldFactory(config=config, name="plan", value="pro")
    data = _saved_rows_data(config, [field], [("static", "passthrough", "pro")])

    response = alice_client.post(editor_url, data)

    assert "standard field" in _row_errors(response, 0)["name"][0]
    assert list(config.custom_fields.values_list("name", flat=True)) == ["plan"]


def test_a_custom_field_saved_as_passthrough_before_keeps_saving(
    alice_client, editor_url, config
):
    # Saved before `passthrough` was standard; the seller edits something else.
    field = CustomFieldFactory(config=config, name="passthrough", value="pro")
    data = _saved_rows_data(
        config,
        [field],
        [("static", "passthrough", "pro"), ("static", "plan", "team")],
    )

    response = alice_client.post(editor_url, data)

    assert response.status_code == 302
    assert list(config.custom_fields.values_list("name", "value")) == [
        ("passthrough", "pro"),
        ("plan", "team"),
    ]


def test_the_editor_explains_a_custom_field_that_replaces_passthrough(
    alice_client, editor_url, config
):
    CustomFieldFactory(config=config, name="passthrough", value="pro")

    content = alice_client.get(editor_url).content.decode()

    assert "is now a standard field" in content
    assert "Rename or delete this field to receive it." in content
    assert "<strong>Not sent for this product:</strong>" in content


def test_the_editor_has_no_such_note_without_that_custom_field(
    alice_client, editor_url, config
):
    CustomFieldFactory(config=config, name="plan", value="pro")

    content = alice_client.get(editor_url).content.decode()

    assert "is now a standard field" not in content
    assert "Not sent for this product" not in content


def test_static_custom_field_needs_a_value(alice_client, editor_url, config):
    response = alice_client.post(
        editor_url, _post_data(config, rows=[("static", "plan", "")])
    )

    assert _row_errors(response, 0)["value"] == ["A static field needs a value."]


def test_customer_name_field_needs_the_product_to_collect_names(
    alice_client, editor_url, config
):
    response = alice_client.post(
        editor_url, _post_data(config, rows=[("customer_name", "name", "")])
    )

    assert "kind" in _row_errors(response, 0)


def test_custom_field_row_can_be_deleted(alice_client, editor_url, config):
    field = CustomFieldFactory(config=config, name="plan", value="pro")
    data = _post_data(config, rows=[("static", "plan", "pro")])
    data.update(
        {
            "custom_fields-INITIAL_FORMS": "1",
            "custom_fields-0-id": str(field.pk),
            "custom_fields-0-DELETE": "on",
        }
    )

    alice_client.post(editor_url, data)

    assert config.custom_fields.count() == 0
    config.refresh_from_db()
    assert config.version == 2


def test_add_rows_shows_more_blank_rows_without_saving(
    alice_client, editor_url, config
):
    data = _post_data(config, rows=[("static", "plan", "pro")], add_rows="1")

    response = alice_client.post(editor_url, data)

    assert response.status_code == 200
    assert len(response.context["formset"].forms) == 3
    assert config.custom_fields.count() == 0


def test_ftp_url_is_a_form_error(alice_client, editor_url, config):
    response = alice_client.post(editor_url, _post_data(config, url="ftp://x"))

    assert response.context["form"].errors["url"]
    config.refresh_from_db()
    assert config.url == "https://licenses.example.com/issue"


def test_ftp_url_with_a_real_host_is_refused_by_the_url_policy(
    alice_client, editor_url, config
):
    response = alice_client.post(
        editor_url, _post_data(config, url="ftp://licenses.example.com/")
    )

    assert response.context["form"].errors["url"] == [
        "The Webhook URL must start with https:// or http://."
    ]


def test_https_is_required_in_production(alice_client, editor_url, config, settings):
    settings.PRODUCTION = True

    response = alice_client.post(
        editor_url, _post_data(config, url="http://licenses.example.com/issue")
    )

    assert response.context["form"].errors["url"] == [
        "The Webhook URL must use https://."
    ]


def test_http_is_allowed_outside_production(alice_client, editor_url, config):
    alice_client.post(
        editor_url, _post_data(config, url="http://licenses.example.com/issue")
    )

    config.refresh_from_db()
    assert config.url == "http://licenses.example.com/issue"


def test_editing_the_config_after_a_test_success_unticks_the_item(
    alice_client, editor_url, product, config
):
    Delivery.objects.create(
        product=product,
        is_test=True,
        config_version=config.version,
        status="succeeded",
        response_text="LICENSE-1",
    )
    assert {i.key: i.done for i in product_checklist(product)}["test_delivery"]

    alice_client.post(editor_url, _post_data(config, instructions="New text."))

    assert not {i.key: i.done for i in product_checklist(product)}["test_delivery"]


def test_regenerate_secret_button_rotates_the_secret(alice_client, product, config):
    old = config.signing_secret
    url = reverse("fulfillment:config-secret-regenerate", args=[product.pk])

    response = alice_client.post(url)

    assert response.status_code == 302
    config.refresh_from_db()
    assert config.previous_signing_secret == old


def test_a_live_product_keeps_its_webhook_url(alice_client, editor_url, config):
    config.product.status = "live"
    config.product.save()

    response = alice_client.post(editor_url, _post_data(config, url=""))

    assert "Unpublish it" in response.context["form"].errors["url"][0]
    config.refresh_from_db()
    assert config.url == "https://licenses.example.com/issue"


def test_unknown_host_is_a_form_error(alice_client, editor_url, config):
    response = alice_client.post(
        editor_url, _post_data(config, url="https://no-such-host.invalid/issue")
    )

    assert response.context["form"].errors["url"] == [
        "We could not find the host no-such-host.invalid. Check the spelling of "
        "the Webhook URL."
    ]


def test_without_javascript_every_row_has_a_visible_static_value_input(
    alice_client, editor_url, config
):
    CustomFieldFactory(config=config, kind="customer_email", name="buyer", value="")
    CustomFieldFactory(config=config, kind="static", name="edition", value="pro")

    response = alice_client.get(editor_url)

    cells = _value_cells(response)
    assert len(cells) == 2 + 2  # two saved rows, two blank ones
    for index, cell in enumerate(cells):
        assert "hidden" not in dict(cell.attributes)
        assert f'name="custom_fields-{index}-value"' in str(cell)
        assert "Static value" in str(cell)


def test_each_kind_select_names_the_kinds_that_use_the_static_value(
    alice_client, editor_url
):
    response = alice_client.get(editor_url)

    selects = _elements(parse_html(response.content.decode()), "data-value-kinds")
    assert len(selects) == 2
    assert all(dict(s.attributes)["data-value-kinds"] == "static" for s in selects)


def test_a_static_field_without_value_shows_the_error_in_its_value_cell(
    alice_client, editor_url, config
):
    response = alice_client.post(
        editor_url, _post_data(config, rows=[("static", "plan", "")])
    )

    cell = str(_value_cells(response)[0])
    assert "A static field needs a value." in cell
    assert 'name="custom_fields-0-value"' in cell


def test_the_instructions_box_is_twelve_rows_tall(alice_client, editor_url):
    response = alice_client.get(editor_url)

    (textarea,) = _elements(parse_html(response.content.decode()), "rows")
    assert dict(textarea.attributes)["rows"] == "12"


def test_editor_saves_the_response_format_and_bumps_the_version(
    alice_client, editor_url, config
):
    response = alice_client.post(editor_url, _post_data(config, response_format="json"))

    assert response.status_code == 302
    config.refresh_from_db()
    assert config.response_format == "json"
    assert config.version == 2
    page = alice_client.get(editor_url).content.decode()
    assert '<option value="json" selected>' in page
    assert "One license per line" in page


def test_editor_refuses_an_unknown_response_format_next_to_the_field(
    alice_client, editor_url, config
):
    response = alice_client.post(editor_url, _post_data(config, response_format="xml"))

    assert response.status_code == 200
    assert "response_format" in response.context["form"].errors
    config.refresh_from_db()
    assert (config.response_format, config.version) == ("text", 1)


def test_a_post_without_the_response_format_keeps_the_saved_one(
    alice_client, editor_url, config
):
    config.response_format = "lines"
    config.save()

    alice_client.post(editor_url, _post_data(config, method="GET"))

    config.refresh_from_db()
    assert (config.method, config.response_format) == ("GET", "lines")
