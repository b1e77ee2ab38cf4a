"""The extension objects, created unbound and initialised by create_app()."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from constituent.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# English and Spanish for the public pages (constituent/i18n.py picks the language).
babel = Babel()
# Sign-in throttling keeps its counters per app: services/throttle.py (init_app).
