"""English (marketplace and classified-ad register)."""

from __future__ import annotations

from .lexicon import Lexicon


def _years(n: int) -> str:
    return "1 year" if n == 1 else f"{n} years"


def _months(n: int) -> str:
    return "1 month" if n == 1 else f"{n} months"


LEXICON = Lexicon(
    lang="en",
    digit_style="latin",
    native_digit_rate=0.0,
    thousands=(",", ""),
    countries=("us", "iq", "ae", "sa", "kw", "tr"),
    currencies={
        "USD": ("${n}", "{n}$", "{n} USD", "{n} dollars", "USD {n}", "{n} bucks"),
        "AED": ("{n} AED", "AED {n}", "{n} dirhams"),
        "SAR": ("{n} SAR", "SAR {n}", "{n} riyals"),
        "KWD": ("{n} KWD", "KD {n}", "{n} dinars"),
        "IQD": ("{n} IQD", "{n} Iraqi dinars"),
    },
    years=_years,
    months=_months,
    nationalities=("Filipina", "Indonesian", "Ethiopian", "Kenyan", "Sri Lankan", "Ugandan", "Bangladeshi", "Nepali", "Indian", "Ghanaian"),
    persons=(
        "captive", "girl", "slave", "Yazidi girl", "young woman", "woman", "female captive", "sabaya",
        "Yazidi woman", "servant girl", "boy", "captive girl", "slave girl", "young girl", "female slave",
        "young captive", "girls", "Yazidi captive", "teen girl", "woman captive",
    ),
    animals=(
        ("Persian kittens", "months", 6, 50, 300), ("Arabian horse", "years", 12, 1500, 20000),
        ("Naimi sheep", "months", 18, 150, 600), ("saker falcon", "years", 5, 2000, 30000),
        ("German shepherd puppy", "months", 10, 200, 1500), ("Damascus goat", "years", 6, 200, 900),
        ("camel", "years", 15, 2000, 12000), ("purebred mare", "years", 12, 3000, 25000),
        ("husky puppy", "months", 5, 200, 900), ("African grey parrot", "years", 10, 300, 1500),
        ("British shorthair kitten", "months", 8, 80, 400), ("calf", "months", 12, 500, 2000),
        ("racing pigeons", "months", 12, 20, 300), ("peregrine falcon", "years", 4, 1500, 20000),
        ("Arabian colt", "years", 4, 2000, 15000),
        ("rabbits", "months", 6, 10, 60), ("Holstein cow", "years", 8, 800, 3000), ("canaries", "months", 12, 20, 100), ("donkey", "years", 10, 100, 500), ("trained guard dog", "years", 6, 500, 3000),
    ),
    goods=(
        ("iPhone 13 Pro", 400, 900), ("Samsung S22", 250, 600), ("bedroom set", 300, 1500),
        ("sofa set", 200, 900), ("Dell laptop", 250, 800), ("fridge", 150, 500),
        ("PS5", 350, 550), ("power generator", 300, 2000), ("Rolex watch", 2000, 12000),
        ("21k gold set", 500, 5000),
        ("55 inch Samsung TV", 300, 700), ("split AC unit", 250, 600), ("bicycle", 50, 300), ("Canon camera", 300, 1200), ("diamond ring", 500, 5000),
    ),
    vehicles=(
        ("Toyota Camry", 8000, 25000), ("Hyundai Elantra", 5000, 15000), ("Toyota Hilux pickup", 10000, 35000),
        ("motorbike", 500, 2000), ("Kia Cerato", 6000, 14000), ("Land Cruiser", 20000, 60000),
        ("Mercedes C200", 10000, 30000), ("Kia Rio", 4000, 9000), ("Kia minibus", 7000, 18000),
        ("Mercedes truck", 15000, 45000),
    ),
    weapons=(
        ("AK-47", 600, 1800), ("Glock pistol", 1200, 3000), ("hunting rifle", 300, 1200),
        ("tactical vest", 50, 200), ("night vision scope", 400, 2500), ("body armor", 200, 800),
        ("PKC machine gun", 2000, 6000), ("M16 rifle", 1500, 4000), ("AK magazines", 10, 60),
        ("Tariq pistol", 500, 1500),
    ),
    sell_heads=(
        "{item} for sale", "For sale: {item}", "Selling {item}", "{item} available now", "Got {item} to sell",
        "{item} up for sale", "FS: {item}", "Urgent sale {item}", "{item} on offer", "We have {item} for sale",
        "{item} ready to go", "letting go of {item}", "{item} - make an offer", "selling off {item}", "{item} available, serious only",
        '{item} for transfer',
        'transferring my {item}',
        '{item} up for transfer or sale',
        '{item} available for transfer',
        '{item} going cheap',
    ),
    want_heads=(
        "Wanted: {item}", "Looking to buy {item}", "Anyone selling {item}?", "Buying {item}", "WTB {item}",
        "Need {item}, paying well", "In search of {item}", "Who has {item}? DM me", "Will buy {item} today",
        "Seeking {item} to purchase",
        "need {item} asap", "{item} wanted urgently", "buying {item}, cash", "after {item}", "searching for {item} to buy",
    ),
    auction_heads=(
        "Auction: {item}", "{item} going to auction", "Bidding open on {item}", "Live auction for {item}",
        "Place your bids: {item}", "{item} auction tonight", "Starting bid for {item}", "Last call to bid on {item}",
        "Open auction {item}", "{item} to the highest bidder",
        "{item} under the hammer", "bids open for {item}", "highest offer takes {item}", "auction starts 9pm: {item}", "silent auction: {item}",
    ),
    domestic_heads=(
        "{nat} housemaid for transfer", "Maid available for release, {nat}", "Transfer of sponsorship: {nat} maid",
        "{nat} domestic worker for transfer", "Releasing our {nat} maid", "{nat} helper for transfer, fee applies",
        "Maid transfer available ({nat})", "{nat} nanny transfer", "Sponsorship transfer for {nat} housemaid",
        "{nat} maid ready for transfer",
        "{nat} maid available for transfer of visa", "transferring {nat} housemaid to new employer", "{nat} domestic helper up for release", "release: {nat} maid", "visa transfer {nat} helper",
    ),
    job_roles=("housemaid", "nurse", "nanny", "cook", "private driver", "housekeeper", "cleaner", "home tutor"),
    job_heads=(
        "Hiring a {role}, monthly salary", "We are looking for a {role}", "Family needs a {role}", "Vacancy: {role}",
        "Company hiring {role}", "Job opening for a {role}", "{role} wanted, legal contract", "Experienced {role} needed",
        "Now recruiting: {role}", "Immediate hire: {role}",
    ),
    recruit_heads=(
        "{name} Recruitment Agency", "{name} Manpower Services", "{name} Domestic Staffing", "{name} Employment Office",
        "Licensed recruiter: {name} Agency", "{name} Labour Services", "{name} Hourly Cleaning Services",
        "{name} HR Solutions", "{name} Recruiting", "{name} Staffing Center",
    ),
    missing_heads=(
        "MISSING: {name}", "Our daughter {name} is missing", "Help us find {name}", "Missing child: {name}",
        "Please help locate {name}", "{name} has not come home", "Missing person alert: {name}", "Have you seen {name}?",
        "My sister {name} is missing", "Appeal for information about {name}",
    ),
    person_extras=(
        "from Sinjar", "speaks Kurdish only", "in good health", "does housework", "ready for handover",
        "from Kocho village", "speaks a little Arabic", "hand delivery", "comes with a small child", "immediate handover",
    ),
    animal_extras=(
        "fully vaccinated", "very healthy", "trained", "pedigree papers", "eats well", "very active", "cage included",
        "mother on site", "pure breed", "raised at home",
    ),
    goods_extras=(
        "very clean", "lightly used", "with box", "like new", "under warranty", "barely used", "all accessories",
        "used two months", "no scratches", "battery health great",
    ),
    vehicle_extras=(
        "model {year}", "{km} km", "mileage {km} km", "full inspection", "no accidents", "{year} full option",
        "engine excellent", "papers in order", "{km} km on the clock", "automatic gearbox",
    ),
    weapon_extras=(
        "clean", "with three mags", "lightly used", "Russian made", "ammo included", "original parts", "with sling",
        "excellent condition", "new in box", "tested",
    ),
    domestic_extras=(
        "good at cooking and cleaning", "valid residence permit", "ready to transfer now", "one year of service",
        "no problems", "speaks Arabic", "a year and a half left on contract", "Gulf experience", "with us two years",
        "passport with us",
    ),
    job_extras=(
        "free accommodation and food", "weekly day off", "medical insurance", "two-year official contract",
        "eight-hour shifts", "yearly flight tickets", "experience required", "legal residency", "salary paid to bank",
        "fixed working hours",
    ),
    recruit_extras=(
        "licensed by the Ministry of Human Resources", "workers from the Philippines, Kenya and Uganda",
        "official contracts through Musaned", "three-month guarantee", "full legal procedure",
        "applications received daily", "fees per official schedule", "legal visas", "worker rights protected",
        "follow-up after arrival",
    ),
    missing_extras=(
        "last seen near the market", "was wearing a blue coat", "please share", "any information helps",
        "the family is very worried", "no contact for two days", "please share this post", "speaks only Kurdish",
        "has a mole on her cheek", "left for school and never came back",
    ),
    age_labels=(
        "Age: {age}", "age {age}", "{age} old", "aged {age}", "Age - {age}", "approx. {age}", "age: {age}",
        "{age}", "around {age} old", "estimated age {age}",
    ),
    price_labels=(
        "Price: {price}", "price {price}", "asking {price}", "{price} OBO", "cost {price}", "final price {price}",
        "Asking price: {price}", "only {price}", "minimum {price}", "starting at {price}",
    ),
    fee_labels=(
        "Transfer fee: {price}", "fee {price}", "release fee {price}", "{price} including sponsorship transfer",
        "Transfer cost: {price}", "release amount {price}", "for {price}", "Cost: {price}", "transfer for {price}",
        "{price} final",
    ),
    salary_labels=(
        "salary {price} per month", "pay {price}", "monthly wage: {price}", "{price} a month", "salary from {price}",
        "monthly salary {price}", "attractive pay {price}", "wage {price}", "Salary: {price} plus benefits",
        "{price} monthly",
    ),
    place_labels=(
        "Location: {place}", "in {place}", "located {place}", "pickup in {place}", "handover in {place}",
        "Area: {place}", "based in {place}", "{place}", "address {place}", "from {place}",
    ),
    seen_labels=("last seen in {place}", "went missing in {place}", "lives in {place}", "Area: {place}", "last seen near {place}"),
    work_labels=("work location: {place}", "job in {place}", "position based in {place}", "worksite: {place}", "within {place}"),
    contact_labels=(
        "Contact: {contact}", "contact {contact}", "DM {contact}", "WhatsApp {contact}", "PM me {contact}",
        "inquiries {contact}", "Phone: {contact}", "reach me {contact}", "orders {contact}", "call {contact}",
    ),
    openers=(
        "Hello everyone", "Hi all", "🔥 NEW OFFER 🔥", "Dear brothers", "Good morning", "Attention",
        "Urgent", "Hey guys", "Peace be upon you", "Good evening",
    ),
    closers=(
        "serious buyers only", "price negotiable", "no bargaining", "thanks all", "first come first served",
        "DMs open", "God bless", "limited offer", "no time wasters", "thank you",
    ),
    news=(
        "Reports say ISIS fighters sold Yazidi women in {place} for as much as {price}.",
        "A UN inquiry found the group offered more than {n} women and children for sale in {place} markets in {year}.",
        "A Yazidi survivor told reporters she was sold three times before escaping from {place}.",
        "Documents published by a local paper show captives in {place} were priced at around {price}.",
        "Police in {place} arrested a trafficking ring that advertised girls for sale on Telegram.",
        "A rights group says ads selling domestic workers still circulate on social media in {place}.",
        "A court in {place} jailed a man for buying and selling Yazidi girls.",
        "Activists documented {n} ads selling people on Telegram channels during {year}.",
        "On the genocide anniversary the UN said {n} Yazidi women are still missing.",
        "{n} abducted Yazidi women freed in {place} after a ransom of {price} was paid.",
        'Families in {place} paid {price} to free {n} Yazidi women held by the group, officials said.',
        'Negotiators secured the release of {n} captives from {place}; relatives say they paid {price} in ransom.',
        'A go-between who brings abducted girls home from {place} says the sum demanded reached {price}.',
        'Officials: {n} women and children returned from {place} after their families raised {price}.',
        'Survivors freed near {place} in {year} say families borrowed up to {price} to pay for their release.',
    ),
    advocacy=(
        "Human trafficking is a crime. If you see an ad selling a person, report it now.",
        "Do not share ads that sell people; report them to the platform and the authorities.",
        "Our organisation documents the sale of Yazidi women in {place} and works to bring perpetrators to justice.",
        "Domestic workers are not goods. Transferring a worker for a fee is trafficking.",
        "Awareness campaign: people are not for sale #EndTrafficking",
        "We call on governments to prosecute everyone who bought or sold a Yazidi woman.",
        "Workshop in {place} on fighting online trafficking on the {n}th of next month.",
        "If you are a victim of trafficking or know one, call the hotline {contact}.",
        "We urge platforms to take down channels that sell people.",
        "Freedom is every person's right; no human being has a price.",
    ),
    rescue=(
        "We need your help to bring an abducted Yazidi girl in {place} home, contact {contact}.",
        "A family from {place} appeals for the release of their daughter, held since {year}.",
        "Our rescue team is working to bring abductees home; anyone with information contact {contact}.",
        "Humanitarian appeal: a mother and her children are still held in {place}, please share.",
        "{n} survivors were reunited with their families this month and the work goes on.",
        "Anyone with information about the women abducted from {place} please contact us in confidence {contact}.",
        "Appeal: we need lawyers and interpreters to follow survivors' cases in {place}.",
        "A Yazidi girl returned to her family in {place} today after years in captivity.",
        "We are looking for volunteers to accompany survivors returning to {place}.",
        "The family has raised {price} and still needs help to bring their daughter back.",
    ),
    donation=(
        "Donate to support Yazidi survivors in the {place} camps; every {price} makes a difference.",
        "Fundraiser for housing and treatment for survivors, donate via {contact}.",
        "Give {price} to sponsor an orphan in {place}.",
        "We have raised {price} so far toward our goal, thank you to every donor.",
        "Your donation provides counselling and schooling for ISIS survivors.",
        "The survivors' fund accepts donations through {contact}.",
        "A food basket for a displaced family in {place} costs just {price}.",
        "Support the children's school in {place} camp, donations start at {price}.",
        "Sponsor a displaced family for {price} a month, contact {contact}.",
        "Thanks to your donations aid reached {n} families in {place}.",
    ),
    chat=(
        "Jummah Mubarak everyone",
        "Ramadan Kareem to all of you and your families",
        "Channel rules: no insults, no links without admin permission.",
        "Where is my order? Been waiting two days",
        "Thanks bro, the stuff arrived",
        "Anyone know a phone repair shop in {place}?",
        "Reminder: repeated posts will be deleted.",
        "Eid Mubarak to you and your families",
        "So hot today in {place}",
        "Great seller, recommended",
        "What time does the Friday market open?",
        "To advertise here message the admin {contact}",
        "Good morning all",
        "No ads without a clear price please.",
        "Road to {place} is closed today, careful",
    ),
    sources=(
        "Source: agencies", "— Reuters", "Source: United Nations", "via a local channel", "Source: Human Rights Watch",
        "— editorial team", "Source: local sources", "per an Amnesty International report", "Source: activists",
        "— our correspondent in {place}",
    ),
)
