"""CDP Workbench: the router. Pages live in app_pages/, the engine in cdp_core/."""
from ui.shell import navigation

navigation().run()
