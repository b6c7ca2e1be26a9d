"""The console at ``/console``: reports, tickets and customers for managers, agents and admins.

Server-rendered (Jinja2 through aiohttp-jinja2, autoescaped) with htmx for partial updates and
Chart.js for charts, both vendored under ``static/vendor`` (``make vendor``): no build step and
nothing fetched at run time. It signs in with the accounts of :mod:`ticketing.accounts`, shares
the API's session cookie, and reads and writes through the same services as the REST API, so a
role can do nothing here that it could not do there. See docs/console.md.
"""

from bot.console.routes import Console

__all__ = ["Console"]
