"""Recognizers, one per module; importing this package registers them all."""

from medmine.privacy.phi_text.recognizers import (  # noqa: F401
    age,
    allow_list,
    census_name,
    city,
    date,
    deny_list,
    email,
    facility,
    ip,
    name_context,
    name_label,
    old_age_year,
    phone,
    record_id,
    ssn,
    street,
    url,
    zip_code,
)
