"""The ports of entry border control picks from in the admin (the API and the feed take any name).

Ports through which travellers bound for Beijing enter the country: Beijing's and Tianjin's first,
then the other international airports and the main land and sea ports. A case registered with
another port keeps it: the change form offers the stored name too.
"""

PORTS_OF_ENTRY = [
    "北京首都国际机场",
    "北京大兴国际机场",
    "天津滨海国际机场",
    "天津港",
    "上海浦东国际机场",
    "上海虹桥国际机场",
    "广州白云国际机场",
    "深圳宝安国际机场",
    "成都天府国际机场",
    "重庆江北国际机场",
    "西安咸阳国际机场",
    "青岛胶东国际机场",
    "厦门高崎国际机场",
    "南京禄口国际机场",
    "杭州萧山国际机场",
    "沈阳桃仙国际机场",
    "大连周水子国际机场",
    "哈尔滨太平国际机场",
    "昆明长水国际机场",
    "乌鲁木齐地窝堡国际机场",
    "深圳湾口岸",
    "罗湖口岸",
    "皇岗口岸",
    "拱北口岸",
    "港珠澳大桥珠海公路口岸",
    "二连浩特口岸",
    "满洲里口岸",
    "绥芬河口岸",
    "霍尔果斯口岸",
    "瑞丽口岸",
    "东兴口岸",
    "友谊关口岸",
]


def port_choices(current: str | None = None) -> list[tuple[str, str]]:
    ports = list(PORTS_OF_ENTRY)
    if current and current not in ports:
        ports.insert(0, current)
    return [("", "---------")] + [(port, port) for port in ports]
