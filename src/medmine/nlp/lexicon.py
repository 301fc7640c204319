"""Curated clinical lexicon: common abbreviations, lay and clinical synonyms, drug brands and
classes, written from general clinical knowledge (not from any evaluation set).

Each entry: ``surface | preferred name | domain``; domain is an OMOP domain (Condition, Drug,
Procedure, Measurement, Observation). A surface with a leading ``!`` is a lexical negative
("afebrile" names fever, absent). Surfaces are matched after tokenising and plural folding.
"""

from __future__ import annotations

_C, _D, _P, _M, _O = "Condition", "Drug", "Procedure", "Measurement", "Observation"

_RAW = {
    _C: """
dvt|deep vein thrombosis; deep venous thrombosis|deep vein thrombosis; pe|pulmonary embolism;
vte|venous thromboembolism; mi|myocardial infarction; heart attack|myocardial infarction; stemi|st
elevation myocardial infarction; nstemi|non-st elevation myocardial infarction; chf|congestive
heart failure; hf|heart failure; hfref|heart failure with reduced ejection fraction; hfpef|heart
failure with preserved ejection fraction; htn|hypertension; high blood pressure|hypertension;
dm|diabetes mellitus; dm2|type 2 diabetes mellitus; t2dm|type 2 diabetes mellitus; t1dm|type 1
diabetes mellitus; iddm|type 1 diabetes mellitus; niddm|type 2 diabetes mellitus;
diabetes|diabetes mellitus; dka|diabetic ketoacidosis; copd|chronic obstructive pulmonary disease;
cad|coronary artery disease; ckd|chronic kidney disease; esrd|end-stage renal disease; aki|acute
kidney injury; arf|acute renal failure; uti|urinary tract infection; uri|upper respiratory
infection; pna|pneumonia; cap|community-acquired pneumonia; hcap|pneumonia; gerd|gastroesophageal
reflux disease; reflux|gastroesophageal reflux disease; afib|atrial fibrillation; a-fib|atrial
fibrillation; af|atrial fibrillation; a fib|atrial fibrillation; aflutter|atrial flutter;
cva|stroke; stroke|stroke; tia|transient ischemic attack; osa|obstructive sleep apnea; bph|benign
prostatic hyperplasia; hld|hyperlipidemia; hlp|hyperlipidemia; high cholesterol|hyperlipidemia;
dyslipidemia|dyslipidemia; oa|osteoarthritis; ra|rheumatoid arthritis; sle|systemic lupus
erythematosus; lupus|systemic lupus erythematosus; ibd|inflammatory bowel disease; ibs|irritable
bowel syndrome; pud|peptic ulcer disease; gi bleed|gastrointestinal hemorrhage;
gib|gastrointestinal hemorrhage; ugib|upper gastrointestinal hemorrhage; lgib|lower
gastrointestinal hemorrhage; sbo|small bowel obstruction; cirrhosis|cirrhosis;
hepatitis|hepatitis; hep c|hepatitis c; hcv|hepatitis c; hbv|hepatitis b; hiv|hiv infection;
aids|aids; tb|tuberculosis; mrsa|mrsa infection; c diff|clostridioides difficile infection;
cdiff|clostridioides difficile infection; covid|covid-19; covid-19|covid-19; covid 19|covid-19;
flu|influenza; influenza|influenza; rsv|rsv infection; strep throat|streptococcal pharyngitis;
sepsis|sepsis; septic shock|septic shock; bacteremia|bacteremia; cellulitis|cellulitis;
abscess|abscess; osteomyelitis|osteomyelitis; endocarditis|endocarditis; meningitis|meningitis;
pyelonephritis|pyelonephritis; pyelo|pyelonephritis; appendicitis|appendicitis;
cholecystitis|cholecystitis; pancreatitis|pancreatitis; diverticulitis|diverticulitis;
colitis|colitis; gastroenteritis|gastroenteritis; bronchitis|bronchitis; asthma|asthma;
emphysema|emphysema; pneumothorax|pneumothorax; ptx|pneumothorax; pleural effusion|pleural
effusion; effusion|effusion; ards|acute respiratory distress syndrome; anemia|anemia; ida|iron
deficiency anemia; thrombocytopenia|thrombocytopenia; neutropenia|neutropenia;
leukocytosis|leukocytosis; hyponatremia|hyponatremia; hypernatremia|hypernatremia;
hypokalemia|hypokalemia; hyperkalemia|hyperkalemia; hypoglycemia|hypoglycemia;
hyperglycemia|hyperglycemia; hypothyroidism|hypothyroidism; hyperthyroidism|hyperthyroidism;
hypotension|hypotension; hypoxia|hypoxia; hypoxemia|hypoxemia; obesity|obesity; morbid
obesity|morbid obesity; osteoporosis|osteoporosis; gout|gout; migraine|migraine;
epilepsy|epilepsy; seizure disorder|epilepsy; seizure|seizure; sz|seizure; dementia|dementia;
alzheimer's|alzheimer disease; alzheimer|alzheimer disease; parkinson's|parkinson disease;
parkinson|parkinson disease; ms|multiple sclerosis; depression|depression; mdd|major depressive
disorder; anxiety|anxiety; gad|generalized anxiety disorder; ptsd|post-traumatic stress disorder;
bipolar disorder|bipolar disorder; schizophrenia|schizophrenia; adhd|adhd; aud|alcohol use
disorder; oud|opioid use disorder; etoh abuse|alcohol abuse; alcohol withdrawal|alcohol
withdrawal; delirium|delirium; cancer|cancer; ca|cancer; malignancy|malignancy; tumor|tumor;
mass|mass; breast cancer|breast cancer; lung cancer|lung cancer; colon cancer|colon cancer;
colorectal cancer|colorectal cancer; prostate cancer|prostate cancer; ovarian cancer|ovarian
cancer; pancreatic cancer|pancreatic cancer; melanoma|melanoma; lymphoma|lymphoma;
leukemia|leukemia; nsclc|non-small cell lung cancer; crc|colorectal cancer; metastases|metastasis;
mets|metastasis; metastatic disease|metastasis; aaa|abdominal aortic aneurysm; aneurysm|aneurysm;
pad|peripheral arterial disease; pvd|peripheral vascular disease; svt|supraventricular
tachycardia; vtach|ventricular tachycardia; vt|ventricular tachycardia; vfib|ventricular
fibrillation; heart block|heart block; bradycardia|bradycardia; tachycardia|tachycardia;
arrhythmia|arrhythmia; murmur|heart murmur; cardiomyopathy|cardiomyopathy;
cardiomegaly|cardiomegaly; aortic stenosis|aortic stenosis; as|aortic stenosis; mitral
regurgitation|mitral regurgitation; mr|mitral regurgitation; pericarditis|pericarditis;
angina|angina; acs|acute coronary syndrome; hypertensive urgency|hypertensive urgency;
preeclampsia|preeclampsia; pregnant|pregnancy; pregnancy|pregnancy; gdm|gestational diabetes;
miscarriage|miscarriage; ectopic pregnancy|ectopic pregnancy; sab|spontaneous abortion;
endometriosis|endometriosis; pcos|polycystic ovary syndrome; fibroids|uterine fibroid;
fibroid|uterine fibroid; bv|bacterial vaginosis; std|sexually transmitted infection; sti|sexually
transmitted infection; chlamydia|chlamydia; gonorrhea|gonorrhea; syphilis|syphilis; herpes|herpes;
shingles|herpes zoster; zoster|herpes zoster; otitis media|otitis media; aom|acute otitis media;
pharyngitis|pharyngitis; sinusitis|sinusitis; conjunctivitis|conjunctivitis; glaucoma|glaucoma;
cataract|cataract; eczema|eczema; psoriasis|psoriasis; acne|acne; urticaria|urticaria;
hives|urticaria; kidney stone|nephrolithiasis; nephrolithiasis|nephrolithiasis;
hydronephrosis|hydronephrosis; urinary retention|urinary retention; incontinence|urinary
incontinence; fracture|fracture; fx|fracture; hip fracture|hip fracture; concussion|concussion;
tbi|traumatic brain injury; sprain|sprain; laceration|laceration; contusion|contusion; burn|burn;
dehydration|dehydration; malnutrition|malnutrition; failure to thrive|failure to thrive; sickle
cell disease|sickle cell disease; hemophilia|hemophilia; pe|pulmonary embolism; pulmonary
embolus|pulmonary embolism; ich|intracranial hemorrhage; sah|subarachnoid hemorrhage; sdh|subdural
hematoma; hematoma|hematoma; bleeding|bleeding; hemorrhage|hemorrhage; penicillin
allergy|penicillin allergy; pcn allergy|penicillin allergy; anaphylaxis|anaphylaxis; allergic
reaction|allergic reaction; rash|rash; dermatitis|dermatitis; hernia|hernia;
gallstones|cholelithiasis; cholelithiasis|cholelithiasis; hemorrhoids|hemorrhoids;
constipation|constipation; ileus|ileus; atelectasis|atelectasis; consolidation|consolidation;
infiltrate|infiltrate; opacity|opacity; nodule|nodule; lymphadenopathy|lymphadenopathy;
splenomegaly|splenomegaly; hepatomegaly|hepatomegaly; ascites|ascites; edema|edema; pulmonary
edema|pulmonary edema; cardiomegaly|cardiomegaly; fatty liver|hepatic steatosis; hepatic
steatosis|hepatic steatosis; nafld|nonalcoholic fatty liver disease; infection|infection; uti
symptoms|urinary tract infection; sinus infection|sinusitis; ear infection|otitis media;
cold|common cold; viral syndrome|viral syndrome; mono|infectious mononucleosis;
hypercalcemia|hypercalcemia; hypomagnesemia|hypomagnesemia; acidosis|acidosis;
ketoacidosis|ketoacidosis; rhabdomyolysis|rhabdomyolysis; rhabdo|rhabdomyolysis; syncope|syncope;
pots|postural orthostatic tachycardia syndrome; vertigo|vertigo; neuropathy|neuropathy;
radiculopathy|radiculopathy; sciatica|sciatica; carpal tunnel syndrome|carpal tunnel syndrome;
spinal stenosis|spinal stenosis; scoliosis|scoliosis; autism|autism; asd|autism spectrum disorder;
down syndrome|down syndrome; jaundice|jaundice; hyperbilirubinemia|hyperbilirubinemia;
bronchiolitis|bronchiolitis; croup|croup; kawasaki disease|kawasaki disease;
""",
    _O: """
cp|chest pain; chest pain|chest pain; sob|shortness of breath; shortness of breath|shortness of
breath; dyspnea|dyspnea; doe|dyspnea on exertion; dyspnea on exertion|dyspnea on exertion;
orthopnea|orthopnea; pnd|paroxysmal nocturnal dyspnea; n/v|nausea and vomiting; n v|nausea and
vomiting; nausea|nausea; vomiting|vomiting; emesis|vomiting; diarrhea|diarrhea; abd pain|abdominal
pain; abdominal pain|abdominal pain; belly pain|abdominal pain; ha|headache; headache|headache;
h/a|headache; fever|fever; fevers|fever; febrile|fever; !afebrile|fever; chills|chills;
rigors|rigors; night sweats|night sweats; fatigue|fatigue; malaise|malaise; weakness|weakness;
dizziness|dizziness; lightheadedness|lightheadedness; lightheaded|lightheadedness;
palpitations|palpitations; cough|cough; productive cough|productive cough; wheezing|wheezing;
wheeze|wheezing; hemoptysis|hemoptysis; sore throat|sore throat; rhinorrhea|rhinorrhea; runny
nose|rhinorrhea; congestion|nasal congestion; nasal congestion|nasal congestion; ear pain|ear
pain; otalgia|ear pain; dysuria|dysuria; hematuria|hematuria; frequency|urinary frequency; urinary
frequency|urinary frequency; urgency|urinary urgency; flank pain|flank pain; back pain|back pain;
lbp|low back pain; low back pain|low back pain; neck pain|neck pain; joint pain|joint pain;
arthralgia|arthralgia; myalgia|myalgia; myalgias|myalgia; body aches|myalgia; knee pain|knee pain;
hip pain|hip pain; shoulder pain|shoulder pain; leg pain|leg pain; calf pain|calf pain; leg
swelling|leg swelling; swelling|swelling; pain|pain; numbness|numbness; tingling|tingling;
paresthesia|paresthesia; confusion|confusion; altered mental status|altered mental status;
ams|altered mental status; loc|loss of consciousness; loss of consciousness|loss of consciousness;
syncope|syncope; fall|fall; falls|fall; weight loss|weight loss; weight gain|weight gain;
anorexia|anorexia; poor appetite|decreased appetite; decreased appetite|decreased appetite;
melena|melena; hematochezia|hematochezia; brbpr|bright red blood per rectum;
hematemesis|hematemesis; blood in stool|hematochezia; dysphagia|dysphagia;
odynophagia|odynophagia; heartburn|heartburn; bloating|bloating; jaundice|jaundice;
pruritus|pruritus; itching|pruritus; bruising|bruising; epistaxis|epistaxis; nosebleed|epistaxis;
vision changes|vision changes; blurry vision|blurred vision; blurred vision|blurred vision;
diplopia|diplopia; photophobia|photophobia; neck stiffness|neck stiffness; tenderness|tenderness;
!nontender|tenderness; !non-tender|tenderness; abdominal tenderness|abdominal tenderness;
rebound|rebound tenderness; guarding|guarding; distension|abdominal distension;
distention|abdominal distension; crackles|crackles; rales|crackles; rhonchi|rhonchi;
stridor|stridor; jvd|jugular venous distension; erythema|erythema; warmth|warmth;
induration|induration; drainage|drainage; discharge|discharge; lesion|lesion; ulcer|ulcer;
wound|wound; cyanosis|cyanosis; clubbing|clubbing; pallor|pallor; diaphoresis|diaphoresis;
sweating|diaphoresis; tremor|tremor; facial droop|facial droop; slurred speech|slurred speech;
aphasia|aphasia; ataxia|ataxia; hemiparesis|hemiparesis; suicidal ideation|suicidal ideation;
si|suicidal ideation; hi|homicidal ideation; homicidal ideation|homicidal ideation;
hallucinations|hallucination; insomnia|insomnia; anhedonia|anhedonia; tobacco use|tobacco use;
smoking|tobacco use; smoker|tobacco use; tobacco|tobacco use; alcohol use|alcohol use;
etoh|alcohol use; alcohol|alcohol use; drug use|drug use; ivdu|intravenous drug use; illicit drug
use|drug use; vaping|vaping; nonadherence|medication nonadherence; noncompliance|medication
nonadherence; noncompliant|medication nonadherence; chest tightness|chest tightness; chest
pressure|chest pressure; sputum|sputum production; lymph node|lymphadenopathy;
fussiness|fussiness; irritability|irritability; lethargy|lethargy; confused|confusion;
nauseated|nausea; nauseous|nausea; dizzy|dizziness; vomited|vomiting; vomit|vomiting;
swollen|swelling; tender|tenderness; short of breath|shortness of breath; coughing|cough;
wheezy|wheezing; itchy|pruritus; lethargic|lethargy; diaphoretic|diaphoresis;
tachycardic|tachycardia; bradycardic|bradycardia; hypotensive|hypotension; hypoxic|hypoxia;
tachypneic|tachypnea; tachypnea|tachypnea; jaundiced|jaundice; pale|pallor; anxious|anxiety;
depressed|depression; poor feeding|poor feeding; sore|sore; cramping|cramping; spotting|vaginal
bleeding; vaginal bleeding|vaginal bleeding; pelvic pain|pelvic pain; discomfort|discomfort;
ecchymosis|ecchymosis; bowel sounds|bowel sounds; murmurs|heart murmur;
""",
    _D: """
asa|aspirin; aspirin|aspirin; apap|acetaminophen; tylenol|acetaminophen;
acetaminophen|acetaminophen; ibuprofen|ibuprofen; motrin|ibuprofen; advil|ibuprofen;
naproxen|naproxen; aleve|naproxen; nsaid|nsaids; nsaids|nsaids; ntg|nitroglycerin;
nitro|nitroglycerin; nitroglycerin|nitroglycerin; heparin|heparin; enoxaparin|enoxaparin;
lovenox|enoxaparin; warfarin|warfarin; coumadin|warfarin; apixaban|apixaban; eliquis|apixaban;
rivaroxaban|rivaroxaban; xarelto|rivaroxaban; dabigatran|dabigatran; clopidogrel|clopidogrel;
plavix|clopidogrel; ticagrelor|ticagrelor; statin|statins; statins|statins;
atorvastatin|atorvastatin; lipitor|atorvastatin; rosuvastatin|rosuvastatin; crestor|rosuvastatin;
simvastatin|simvastatin; pravastatin|pravastatin; metoprolol|metoprolol; lopressor|metoprolol;
toprol|metoprolol; carvedilol|carvedilol; atenolol|atenolol; propranolol|propranolol; beta
blocker|beta blockers; beta blockers|beta blockers; lisinopril|lisinopril; enalapril|enalapril;
ace inhibitor|ace inhibitors; acei|ace inhibitors; losartan|losartan; valsartan|valsartan;
arb|angiotensin receptor blockers; amlodipine|amlodipine; norvasc|amlodipine; diltiazem|diltiazem;
verapamil|verapamil; hydrochlorothiazide|hydrochlorothiazide; hctz|hydrochlorothiazide;
chlorthalidone|chlorthalidone; furosemide|furosemide; lasix|furosemide; bumetanide|bumetanide;
bumex|bumetanide; torsemide|torsemide; spironolactone|spironolactone; diuretic|diuretics;
diuretics|diuretics; digoxin|digoxin; amiodarone|amiodarone; hydralazine|hydralazine; isosorbide
mononitrate|isosorbide mononitrate; imdur|isosorbide mononitrate; metformin|metformin;
glipizide|glipizide; glyburide|glyburide; insulin|insulin; lantus|insulin glargine; insulin
glargine|insulin glargine; humalog|insulin lispro; insulin lispro|insulin lispro; sliding scale
insulin|insulin; ssi|insulin; empagliflozin|empagliflozin; jardiance|empagliflozin;
semaglutide|semaglutide; ozempic|semaglutide; liraglutide|liraglutide; sitagliptin|sitagliptin;
levothyroxine|levothyroxine; synthroid|levothyroxine; prednisone|prednisone;
methylprednisolone|methylprednisolone; solumedrol|methylprednisolone; dexamethasone|dexamethasone;
decadron|dexamethasone; hydrocortisone|hydrocortisone; steroid|steroids; steroids|steroids;
albuterol|albuterol; duoneb|ipratropium-albuterol; ipratropium|ipratropium; tiotropium|tiotropium;
spiriva|tiotropium; fluticasone|fluticasone; advair|fluticasone-salmeterol;
symbicort|budesonide-formoterol; montelukast|montelukast; singulair|montelukast; inhaler|inhaler;
nebulizer|nebulizer treatment; antibiotic|antibiotics; antibiotics|antibiotics; abx|antibiotics;
amoxicillin|amoxicillin; augmentin|amoxicillin-clavulanate;
amoxicillin-clavulanate|amoxicillin-clavulanate; penicillin|penicillin; pcn|penicillin;
ampicillin|ampicillin; cephalexin|cephalexin; keflex|cephalexin; cefazolin|cefazolin;
ancef|cefazolin; ceftriaxone|ceftriaxone; rocephin|ceftriaxone; cefepime|cefepime;
ceftazidime|ceftazidime; piperacillin-tazobactam|piperacillin-tazobactam;
zosyn|piperacillin-tazobactam; pip-tazo|piperacillin-tazobactam; vancomycin|vancomycin;
vanc|vancomycin; vanco|vancomycin; azithromycin|azithromycin; zithromax|azithromycin;
z-pak|azithromycin; zpak|azithromycin; doxycycline|doxycycline; ciprofloxacin|ciprofloxacin;
cipro|ciprofloxacin; levofloxacin|levofloxacin; levaquin|levofloxacin;
nitrofurantoin|nitrofurantoin; macrobid|nitrofurantoin; bactrim|trimethoprim-sulfamethoxazole;
tmp-smx|trimethoprim-sulfamethoxazole; metronidazole|metronidazole; flagyl|metronidazole;
clindamycin|clindamycin; meropenem|meropenem; gentamicin|gentamicin; linezolid|linezolid;
fluconazole|fluconazole; acyclovir|acyclovir; valacyclovir|valacyclovir; oseltamivir|oseltamivir;
tamiflu|oseltamivir; remdesivir|remdesivir; paxlovid|nirmatrelvir-ritonavir; morphine|morphine;
hydromorphone|hydromorphone; dilaudid|hydromorphone; oxycodone|oxycodone;
percocet|oxycodone-acetaminophen; hydrocodone|hydrocodone; norco|hydrocodone-acetaminophen;
vicodin|hydrocodone-acetaminophen; tramadol|tramadol; fentanyl|fentanyl; opioid|opioids;
opioids|opioids; narcotics|opioids; naloxone|naloxone; narcan|naloxone;
buprenorphine|buprenorphine; suboxone|buprenorphine-naloxone; methadone|methadone;
gabapentin|gabapentin; neurontin|gabapentin; pregabalin|pregabalin; lyrica|pregabalin;
ketorolac|ketorolac; toradol|ketorolac; ondansetron|ondansetron; zofran|ondansetron;
metoclopramide|metoclopramide; reglan|metoclopramide; promethazine|promethazine;
phenergan|promethazine; omeprazole|omeprazole; prilosec|omeprazole; pantoprazole|pantoprazole;
protonix|pantoprazole; famotidine|famotidine; pepcid|famotidine; ppi|proton pump inhibitors;
docusate|docusate; colace|docusate; senna|senna; miralax|polyethylene glycol; polyethylene
glycol|polyethylene glycol; lactulose|lactulose; loperamide|loperamide; sertraline|sertraline;
zoloft|sertraline; fluoxetine|fluoxetine; prozac|fluoxetine; citalopram|citalopram;
escitalopram|escitalopram; lexapro|escitalopram; ssri|ssris; ssris|ssris; bupropion|bupropion;
wellbutrin|bupropion; trazodone|trazodone; mirtazapine|mirtazapine; venlafaxine|venlafaxine;
duloxetine|duloxetine; cymbalta|duloxetine; lorazepam|lorazepam; ativan|lorazepam;
alprazolam|alprazolam; xanax|alprazolam; diazepam|diazepam; valium|diazepam;
clonazepam|clonazepam; benzodiazepines|benzodiazepines; benzos|benzodiazepines;
haloperidol|haloperidol; haldol|haloperidol; quetiapine|quetiapine; seroquel|quetiapine;
olanzapine|olanzapine; risperidone|risperidone; lithium|lithium; levetiracetam|levetiracetam;
keppra|levetiracetam; phenytoin|phenytoin; valproate|valproate; lamotrigine|lamotrigine;
donepezil|donepezil; diphenhydramine|diphenhydramine; benadryl|diphenhydramine;
cetirizine|cetirizine; zyrtec|cetirizine; loratadine|loratadine; epinephrine|epinephrine;
epipen|epinephrine; tamsulosin|tamsulosin; flomax|tamsulosin; finasteride|finasteride;
allopurinol|allopurinol; colchicine|colchicine; methotrexate|methotrexate;
hydroxychloroquine|hydroxychloroquine; plaquenil|hydroxychloroquine; potassium chloride|potassium
chloride; kcl|potassium chloride; potassium|potassium chloride; magnesium|magnesium; iron|iron;
ferrous sulfate|ferrous sulfate; vitamin d|vitamin d; folic acid|folic acid; thiamine|thiamine;
multivitamin|multivitamin; calcium|calcium; normal saline|normal saline; ns|normal saline; ivf|iv
fluids; iv fluids|iv fluids; lr|lactated ringer's; lactated ringers|lactated ringer's; fluids|iv
fluids; bolus|iv fluid bolus; contrast|contrast; iv contrast|contrast; tpa|alteplase;
alteplase|alteplase; ocp|oral contraceptives; ocps|oral contraceptives; oral contraceptives|oral
contraceptives; birth control|oral contraceptives; estrogen|estrogen; oxytocin|oxytocin;
pitocin|oxytocin; magnesium sulfate|magnesium sulfate; rhogam|rho(d) immune globulin; prenatal
vitamins|prenatal vitamins; vaccine|vaccine; flu shot|influenza vaccine; influenza
vaccine|influenza vaccine; tdap|tdap vaccine; mmr|mmr vaccine; covid vaccine|covid-19 vaccine;
pneumovax|pneumococcal vaccine; chemo|chemotherapy; chemotherapy|chemotherapy;
tamoxifen|tamoxifen; anticoagulation|anticoagulants; anticoagulant|anticoagulants;
anticoagulants|anticoagulants; blood thinner|anticoagulants; blood thinners|anticoagulants;
doac|direct oral anticoagulants; antihypertensives|antihypertensives;
acetaminophen-codeine|acetaminophen-codeine; tylenol #3|acetaminophen-codeine; oxygen|oxygen;
o2|oxygen; nicotine patch|nicotine; nicotine replacement|nicotine; varenicline|varenicline;
chantix|varenicline; naltrexone|naltrexone; vitamin k|vitamin k;
""",
    _P: """
cxr|chest x-ray; chest x-ray|chest x-ray; chest xray|chest x-ray; x-ray|x-ray; xray|x-ray;
xr|x-ray; radiograph|x-ray; ct|ct scan; cat scan|ct scan; ct scan|ct scan; ct head|ct head; head
ct|ct head; ct chest|ct chest; cta|ct angiography; ct angiogram|ct angiography; ct abdomen|ct
abdomen; ct a/p|ct abdomen and pelvis; mri|mri; mra|mr angiography; us|ultrasound;
ultrasound|ultrasound; ruq us|right upper quadrant ultrasound; echo|echocardiogram;
echocardiogram|echocardiogram; tte|transthoracic echocardiogram; tee|transesophageal
echocardiogram; ekg|electrocardiogram; ecg|electrocardiogram; electrocardiogram|electrocardiogram;
telemetry|telemetry; tele|telemetry; holter|holter monitor; stress test|stress test; cardiac
cath|cardiac catheterization; cath|cardiac catheterization; heart cath|cardiac catheterization;
lhc|left heart catheterization; pci|percutaneous coronary intervention; stent|stent placement;
cabg|coronary artery bypass graft; bypass|coronary artery bypass graft; pacemaker|pacemaker
placement; icd|defibrillator implantation; ablation|ablation; cardioversion|cardioversion;
egd|esophagogastroduodenoscopy; endoscopy|endoscopy; colonoscopy|colonoscopy; ercp|ercp;
sigmoidoscopy|sigmoidoscopy; appendectomy|appendectomy; cholecystectomy|cholecystectomy; lap
chole|laparoscopic cholecystectomy; chole|cholecystectomy; hysterectomy|hysterectomy;
c-section|cesarean section; c section|cesarean section; cesarean section|cesarean section;
csection|cesarean section; tonsillectomy|tonsillectomy; mastectomy|mastectomy;
lumpectomy|lumpectomy; biopsy|biopsy; bx|biopsy; fna|fine needle aspiration;
colposcopy|colposcopy; pap smear|pap smear; pap|pap smear; mammogram|mammogram;
mammography|mammogram; dexa|dexa scan; dexa scan|dexa scan; bone scan|bone scan; pet scan|pet
scan; pet|pet scan; pet/ct|pet-ct; hip replacement|hip replacement; thr|total hip replacement;
tha|total hip arthroplasty; knee replacement|knee replacement; tkr|total knee replacement;
tka|total knee arthroplasty; orif|open reduction internal fixation; arthroscopy|arthroscopy;
surgery|surgery; laparotomy|laparotomy; hernia repair|hernia repair; dialysis|dialysis;
hd|hemodialysis; hemodialysis|hemodialysis; transfusion|transfusion; prbc|red blood cell
transfusion; intubation|intubation; intubated|intubation; mechanical ventilation|mechanical
ventilation; bipap|bipap; cpap|cpap; thoracentesis|thoracentesis; paracentesis|paracentesis;
lumbar puncture|lumbar puncture; lp|lumbar puncture; chest tube|chest tube placement; central
line|central line placement; picc|picc line placement; picc line|picc line placement;
foley|urinary catheterization; foley catheter|urinary catheterization; ng tube|nasogastric tube
placement; peg|peg tube placement; i&d|incision and drainage; incision and drainage|incision and
drainage; sutures|suture repair; suture repair|suture repair; splint|splinting; cast|casting;
physical therapy|physical therapy; pt/ot|physical and occupational therapy; occupational
therapy|occupational therapy; ot|occupational therapy; speech therapy|speech therapy;
radiation|radiation therapy; radiation therapy|radiation therapy; xrt|radiation therapy;
eeg|electroencephalogram; emg|electromyography; pft|pulmonary function tests; pfts|pulmonary
function tests; spirometry|spirometry; sleep study|sleep study; polysomnography|polysomnography;
vqscan|v/q scan; v/q scan|v/q scan; doppler|doppler ultrasound; dopplers|doppler ultrasound;
duplex|duplex ultrasound; le duplex|lower extremity duplex ultrasound; ciwa|ciwa assessment; nerve
block|nerve block; epidural|epidural; vaccination|vaccination; immunization|immunization; cpr|cpr;
resuscitation|resuscitation; debridement|debridement; amputation|amputation;
craniotomy|craniotomy; tube feeds|enteral feeding; tpn|parenteral nutrition; ivc filter|ivc filter
placement; kub|abdominal x-ray; fluoroscopy|fluoroscopy; angiogram|angiography;
angiography|angiography; tavr|transcatheter aortic valve replacement; valve replacement|valve
replacement; circumcision|circumcision;
""",
    _M: """
cbc|complete blood count; bmp|basic metabolic panel; cmp|comprehensive metabolic panel; lft|liver
function tests; lfts|liver function tests; liver function tests|liver function tests;
a1c|hemoglobin a1c; hba1c|hemoglobin a1c; hemoglobin a1c|hemoglobin a1c; tsh|thyroid stimulating
hormone; free t4|free t4; inr|inr; pt/inr|inr; ptt|ptt; bnp|bnp; nt-probnp|nt-probnp;
troponin|troponin; trop|troponin; tropes|troponin; ua|urinalysis; urinalysis|urinalysis; urine
culture|urine culture; ucx|urine culture; blood culture|blood cultures; blood cultures|blood
cultures; bcx|blood cultures; cultures|cultures; culture|culture; sputum culture|sputum culture;
lactate|lactate; lactic acid|lactate; esr|esr; crp|c-reactive protein;
procalcitonin|procalcitonin; lipase|lipase; amylase|amylase; d-dimer|d-dimer; ddimer|d-dimer; d
dimer|d-dimer; hemoglobin|hemoglobin; hgb|hemoglobin; hb|hemoglobin; hematocrit|hematocrit;
hct|hematocrit; wbc|white blood cell count; white count|white blood cell count; platelets|platelet
count; plt|platelet count; sodium|sodium; na|sodium; k|potassium; creatinine|creatinine;
cr|creatinine; bun|blood urea nitrogen; glucose|glucose; blood sugar|glucose; bg|glucose;
fsbg|glucose; ast|ast; alt|alt; alk phos|alkaline phosphatase; bilirubin|bilirubin; t bili|total
bilirubin; albumin|albumin; ammonia|ammonia; lipid panel|lipid panel; ldl|ldl cholesterol; hdl|hdl
cholesterol; triglycerides|triglycerides; cholesterol|cholesterol; ferritin|ferritin; iron
studies|iron studies; b12|vitamin b12; vitamin b12|vitamin b12; folate|folate; psa|psa; cea|cea;
hcg|hcg; beta hcg|beta-hcg; b-hcg|beta-hcg; upt|urine pregnancy test; urine pregnancy test|urine
pregnancy test; pregnancy test|pregnancy test; abg|arterial blood gas; vbg|venous blood gas; blood
gas|blood gas; ck|creatine kinase; cpk|creatine kinase; tox screen|toxicology screen; utox|urine
drug screen; uds|urine drug screen; urine drug screen|urine drug screen; blood alcohol|blood
alcohol level; etoh level|blood alcohol level; ethanol level|blood alcohol level; acetaminophen
level|acetaminophen level; salicylate level|salicylate level; drug levels|drug levels; vanc
trough|vancomycin trough; trough|trough level; covid test|sars-cov-2 test; covid pcr|sars-cov-2
pcr; sars-cov-2 pcr|sars-cov-2 pcr; flu swab|influenza test; rapid strep|rapid strep test; strep
test|rapid strep test; monospot|monospot; hiv test|hiv test; hepatitis panel|hepatitis panel;
rpr|rpr; gc/chlamydia|gc/chlamydia test; stool culture|stool culture; c diff toxin|c. difficile
toxin; fobt|fecal occult blood test; fit test|fecal immunochemical test; gram stain|gram stain;
ana|ana; rf|rheumatoid factor; magnesium level|magnesium; phosphorus|phosphorus; calcium
level|calcium; anion gap|anion gap; gfr|gfr; egfr|gfr; urine output|urine output; blood
pressure|blood pressure; bp|blood pressure; heart rate|heart rate; oxygen saturation|oxygen
saturation; o2 sat|oxygen saturation; spo2|oxygen saturation; sat|oxygen saturation;
temperature|temperature; ejection fraction|ejection fraction; ef|ejection fraction; lvef|ejection
fraction; nihss|nihss; gcs|glasgow coma scale; apgar|apgar score; bmi|body mass index; weight|body
weight; peak flow|peak flow; qtc|qtc interval; tsh level|thyroid stimulating hormone; urine
protein|urine protein; microalbumin|urine microalbumin; lytes|electrolytes;
electrolytes|electrolytes; coags|coagulation studies; cardiac enzymes|cardiac enzymes; type and
screen|type and screen; blood type|blood type; gbs|group b streptococcus; gbs culture|gbs culture;
""",
}

#: Surfaces dropped while tuning on the development half: vital signs as bare numbers and
#: services are not concept mentions (README of the set), "RA" is mostly room air, "O2" support.
_REMOVED = frozenset(
    {
        "bp",
        "weight",
        "spo2",
        "o2 sat",
        "sat",
        "bmi",
        "heart rate",
        "temperature",
        "urine output",
        "surgery",
        "ra",
        "o2",
    }
)

#: Added while tuning on the development half of the evaluation set (general clinical terms
#: that the set showed missing; docs/nlp.md). Kept apart so the first score stays reproducible.
_DEV_ADDED = {
    _C: """
ischemia|ischemia; eosinophilia|eosinophilia; retinopathy|retinopathy; perforation|perforation;
obstruction|obstruction; necrosis|necrosis; polyp|polyp; pseudocyst|pseudocyst; scabies|scabies;
tinea pedis|tinea pedis; bppv|benign paroxysmal positional vertigo; pvc|premature ventricular
contractions; volume overload|volume overload; iron deficiency|iron deficiency; trauma|trauma;
refeeding syndrome|refeeding syndrome; post-herpetic neuralgia|postherpetic neuralgia;
postherpetic neuralgia|postherpetic neuralgia; musculoskeletal strain|musculoskeletal strain;
vasovagal|vasovagal syncope; withdrawal|withdrawal; carcinoma|carcinoma; glioma|glioma;
adenopathy|lymphadenopathy; infarct|infarct; nephrotoxicity|nephrotoxicity; atn|acute tubular
necrosis; ain|acute interstitial nephritis; dts|delirium tremens; sjs|stevens-johnson syndrome;
dress|dress syndrome; drug eruption|drug eruption; sudden death|sudden death; sudden cardiac
death|sudden cardiac death; hypercapnia|hypercapnia; hypothyroid|hypothyroidism;
hyperthyroid|hyperthyroidism; uremia|uremia; tick bite|tick bite; lyme disease|lyme disease;
chickenpox|varicella; varicella|varicella; stress ulcer|stress ulcer; bell's palsy|bell palsy;
crohn's disease|crohn disease; crohn's|crohn disease; celiac disease|celiac disease;
dysplasia|dysplasia; hpv|hpv infection; subdural hematoma|subdural hematoma;
""",
    _O: """
redness|redness; smokes|tobacco use; smoke|tobacco use; tinnitus|tinnitus; polyuria|polyuria;
polydipsia|polydipsia; presyncope|presyncope; near-syncope|presyncope; rigidity|rigidity; nuchal
rigidity|nuchal rigidity; meningismus|meningismus; sedation|sedation; itch|pruritus;
shakiness|shakiness; shaky|shakiness; loose stools|diarrhea; loose stool|diarrhea; vision
loss|vision loss; unsteadiness|unsteadiness; unsteady|unsteadiness; postictal|postictal state;
tongue biting|tongue biting; thunderclap|thunderclap headache; irregularly irregular|irregular
heart rhythm; pericardial rub|pericardial rub; murphy sign|murphy sign; murphy's sign|murphy sign;
psoas sign|psoas sign; rovsing sign|rovsing sign; pronator drift|pronator drift; skew
deviation|skew deviation; saddle anesthesia|saddle anesthesia; fat stranding|fat stranding;
midline shift|midline shift; mucosal thickening|mucosal thickening; wall thickening|wall
thickening; restricted diffusion|restricted diffusion; septal hypertrophy|septal hypertrophy; st
elevation|st elevation; twi|t wave inversion; t wave inversion|t wave inversion; left shift|left
shift; urinary sx|urinary symptoms; urinary symptoms|urinary symptoms; uremic symptoms|uremic
symptoms; cva tenderness|costovertebral angle tenderness; poor po intake|poor oral intake;
decreased po intake|poor oral intake; mental status change|altered mental status; focal
deficits|focal neurologic deficit; neuro deficits|focal neurologic deficit; sugars|glucose;
temps|fever; hearing loss|hearing loss; dysarthria|dysarthria; limb weakness|weakness;
yellowing of skin|jaundice; unable to bear weight|inability to bear weight;
""",
    _D: """
meclizine|meclizine; primidone|primidone; topiramate|topiramate; prochlorperazine|prochlorperazine;
compazine|prochlorperazine; phenobarbital|phenobarbital; norepinephrine|norepinephrine;
levophed|norepinephrine; vasopressors|vasopressors; pressors|vasopressors;
triamcinolone|triamcinolone; trelegy|fluticasone-umeclidinium-vilanterol; levoflox|levofloxacin;
lispro|insulin lispro; cefpodoxime|cefpodoxime; keppra|levetiracetam; glp-1 ra|glp-1 receptor
agonist; gadolinium|gadolinium; mepilex|foam dressing;
""",
    _P: """
hemiarthroplasty|hemiarthroplasty; ureteroscopy|ureteroscopy; nephrostomy|nephrostomy;
nephrostomy tube|nephrostomy tube placement; leep|leep; turbt|transurethral resection of bladder
tumor; lap appy|laparoscopic appendectomy; genetic testing|genetic testing; imaging|imaging;
speech eval|speech evaluation; restraints|restraints; epley maneuver|epley maneuver;
cbi|continuous bladder irrigation; neuro checks|neurologic checks; seizure precautions|seizure
precautions; insulin pump|insulin pump; kidney transplant|kidney transplant;
transplant|transplant; mri brain|mri brain; renal us|renal ultrasound; pet/ct|pet-ct;
""",
    _M: """
cr|creatinine; protein|protein; rbc|red blood cells; ketones|ketones; lyme titer|lyme titer;
urine cytology|urine cytology; orthostatic vitals|orthostatic vital signs; sputum cx|sputum
culture; urine cx|urine culture; blood cx|blood cultures; wound cx|wound culture; cx|culture;
wells|wells score; brca|brca testing; svr|systemic vascular resistance; map|mean arterial
pressure;
""",
}


def lexicon_entries() -> list[tuple[str, str, str, bool]]:
    """``(surface, preferred, domain, lexical negative)`` of every curated entry."""
    out = []
    blocks = [*_RAW.items(), *_DEV_ADDED.items()]
    for domain, block in blocks:
        for item in block.replace("\n", " ").split(";"):
            item = item.strip()
            if not item:
                continue
            surface, preferred = (p.strip() for p in item.split("|", 1))
            neg = surface.startswith("!")
            if surface in _REMOVED:
                continue
            out.append((surface.lstrip("!"), preferred, domain, neg))
    return out
