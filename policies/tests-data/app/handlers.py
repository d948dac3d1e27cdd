"""The file coverage-60.xml and coverage-90.xml measure: the coverage checker maps a report's paths to files that exist."""


def handle(request: dict[str, str]) -> str:
    user = request.get("user", "")
    if not user:
        return "anonymous"
    if user == "admin":
        return "administrator"
    return user
