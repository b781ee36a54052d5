from rest_framework import pagination

from secrets_app.list_counts import CachedCountPaginator


class PageNumberPagination(pagination.PageNumberPagination):
    """{"count", "next", "previous", "results"}, 50 a page, ?page_size= up to 500."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    # The schema's words for the parameters (DRF's speak of "the paginated result set").
    page_query_description = "The page, from 1."
    page_size_query_description = "Rows a page: 50 unless asked, at most 500."


class SecretPagination(PageNumberPagination):
    """The same, with the secrets list's count cached until the next change (counting.py)."""

    django_paginator_class = CachedCountPaginator
