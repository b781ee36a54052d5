"""How the console's forms render: `{{ form.x.as_field_group }}` uses
templates/includes/field.html, the one field block (label, input, help, errors)."""

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    # TemplatesSetting: the project's templates/ is searched; Django's own widget templates
    # come from "django.forms" in INSTALLED_APPS.
    field_template_name = "includes/field.html"
