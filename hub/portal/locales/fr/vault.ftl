# Passerelle — the vault's pages (/coffre), in French, the source
# language: complete, and the text every other language falls back to.
#
# Write for people who read little: short sentences, everyday words, one
# idea a sentence, "vous". See docs/TRADUIRE.md before changing a message;
# a message whose meaning changes gets a new key.

## Menu of a signed-in person

menu-nom = Mon coffre
menu-documents = Mes documents
menu-partager = Partager
menu-journal = Qui a vu mes documents
menu-relier = Relier une institution
menu-tout-telecharger = Tout télécharger
menu-deconnexion = Me déconnecter

## Refusals of the vault
# $essais, $max, $fichiers: numbers; $mo, $mo-relie: sizes in megabytes.

refus-fin-passee = La date de fin doit être après aujourd'hui.
refus-trop-long = Une autorisation dure un an au plus.
refus-sans-document = Choisissez au moins un document ou un type de document.
refus-sans-demarche = Dites pour quelle démarche vous donnez cette autorisation.
refus-autorisation-inconnue = Cette autorisation n'existe pas.
refus-code-reinitialisation = Ce code n'est pas valable. Demandez un nouveau code à un professionnel.
refus-secours-dernier-essai = Le code de secours n'est pas le bon, et c'était le dernier essai : le code donné par le professionnel ne vaut plus. Demandez un nouveau code à un professionnel.
refus-secours-faux = Le code de secours n'est pas le bon. Vérifiez-le et réessayez avec le même code du professionnel (encore { $essais } { $essais ->
        [one] essai
       *[other] essais
    }), ou laissez la case vide (vos documents déposés seront alors effacés).
refus-code-liaison-expire = Ce code de liaison a expiré. Affichez un nouveau code dans votre coffre.
refus-code-liaison-inconnu = Ce code de liaison n'est pas connu, ou il a déjà servi.
refus-identifiant-pris = Un compte existe déjà avec cet identifiant.
refus-coffre-plein = Votre coffre est plein ({ $mo } Mo ou { $fichiers } documents au plus). Supprimez un document avant d'en ajouter un.
refus-coffre-plein-sans-institution = Votre coffre est plein : tant qu'aucune institution n'est reliée à votre coffre, vous pouvez déposer { $fichiers } documents et { $mo } Mo au plus. Supprimez un document, ou reliez une institution pour avoir jusqu'à { $mo-relie } Mo.
refus-trop-de-documents = Une autorisation peut porter sur { $max } documents ou types de document au plus. Choisissez-en moins, ou donnez une deuxième autorisation.
refus-trop-d-autorisations = Vous avez déjà { $max } autorisations en cours, c'est le maximum. Retirez-en une avant d'en donner une nouvelle.
refus-trop-de-codes = Vous avez déjà { $max } codes de liaison en attente. Montrez l'un d'eux au guichet, ou attendez qu'ils expirent (30 minutes).

## An institution's document that cannot be shown (on the page)

acces-injoignable = Cette institution ne répond pas pour le moment. Réessayez plus tard.
acces-trop-long = Cette institution met trop de temps à répondre. Réessayez plus tard.
acces-logiciel-ancien = Cette institution doit mettre à jour son logiciel Passerelle pour montrer ses documents. Réessayez plus tard.
acces-pas-a-vous = Ce document n'existe pas, ou il ne vous concerne pas.
acces-non-note = L'accès n'a pas pu être enregistré dans le journal ; il est donc refusé. Réessayez plus tard.
acces-institution-sans-reponse = L'institution n'a pas pu répondre. Réessayez plus tard.
acces-erreur = Une erreur s'est produite. Réessayez plus tard.

## The same, as the journal says it
# $qui: the institution's name; $raison: one of the journal-* below.

journal-injoignable = l'institution ne répondait pas
journal-trop-long = l'institution a mis trop de temps à répondre
journal-logiciel-ancien = le logiciel de l'institution doit être mis à jour
journal-pas-a-vous = ce document ne vous concerne pas
journal-non-note = l'accès n'a pas pu être noté, il a donc été refusé
journal-refuse-par-institution = { $qui } : l'institution a refusé l'accès
journal-echec = { $qui } : { $raison }

## A document that stopped on its way

transfert-arrete = L'institution a cessé d'envoyer le document. Réessayez plus tard.
transfert-coupe = Le document n'est pas arrivé en entier : la liaison avec l'institution a été coupée. Réessayez plus tard.
transfert-different = Le document reçu ne correspond pas à celui que l'institution a annoncé ; il ne vous est pas transmis.

## Creating an account, signing in, a forgotten password

coffre-retour = Retour
compte-trop-de-tentatives = Trop de tentatives. Attendez une minute.
compte-service-occupe = Le service est très sollicité. Réessayez dans un instant.
compte-creer = Créer mon compte
compte-connexion = Me connecter
compte-oubli-titre = Mot de passe oublié
compte-oubli-bouton = Changer mon mot de passe
compte-creer-intro = Un seul compte suffit pour tous vos papiers.
compte-oubli-intro = Allez voir un professionnel d'une institution partenaire avec une pièce d'identité. Il vous donnera un code, valable 30 minutes.
# $essais: how many tries one professional's code allows (5).
compte-oubli-essais = Si vous vous trompez de code de secours, vous pouvez réessayer avec le même code du professionnel ({ $essais } essais en tout). Ensuite, demandez-lui un nouveau code.
compte-mot-de-passe = Mot de passe
compte-code-professionnel = Le code donné par le professionnel
compte-code-secours-champ = Votre code de secours, si vous l'avez (sinon laissez vide)
compte-identifiant = Numéro de téléphone ou adresse e-mail
compte-nouveau-mot-de-passe = Choisissez un mot de passe (8 caractères au moins)
compte-mot-de-passe-encore = Tapez-le une deuxième fois
compte-cree = Votre compte est créé.
compte-existe-deja = Un compte existe déjà avec cet identifiant. Connectez-vous, ou demandez un code de réinitialisation à un professionnel.
compte-non-cree = Le compte n'a pas pu être créé. Réessayez plus tard.
compte-mauvais-mot-de-passe = Identifiant ou mot de passe incorrect.
compte-connexion-impossible = La connexion n'a pas pu se faire. Réessayez plus tard.
compte-changement-impossible = Le changement n'a pas pu se faire. Réessayez plus tard.
compte-mot-de-passe-change = Mot de passe changé
compte-mot-de-passe-change-phrase = Votre mot de passe est changé.
# $nombre: how many of the person's own documents were erased.
compte-depots-effaces = Sans votre ancien code de secours, vos { $nombre } document(s) déposé(s) ont été effacés. Les documents des institutions sont toujours là.
compte-depots-gardes = Vos documents déposés sont toujours là.
compte-voir-documents = Voir mes documents

## The rescue code, shown once

secours-titre = Votre code de secours
secours-code-nom = code de secours
secours-notez = Notez ce code sur un papier et gardez-le bien.
secours-plus-affiche = Il ne sera plus jamais affiché.
secours-pourquoi = Si vous oubliez votre mot de passe, ce code permet de garder les documents que vous avez déposés. Sans lui, ils seront perdus : personne ne peut les ouvrir à votre place.
secours-note = J'ai noté mon code

## Welcome page (not signed in)

accueil-titre-court = Mon coffre-fort
accueil-titre = Mon coffre-fort numérique
accueil-intro = Vos papiers au même endroit : ceux que les institutions ont sur vous, et ceux que vous ajoutez. Vous choisissez qui peut les voir.
accueil-oubli = J'ai oublié mon mot de passe
accueil-aide = Un travailleur social peut vous aider à créer votre compte.

## My documents
# $date: a date and time (see date-heure-mayotte).

coffre-documents-titre = Mes documents
documents-institutions = Documents des institutions
documents-aucune-institution = Aucune institution n'est encore reliée à votre coffre. Touchez « Relier une institution » et montrez le code au guichet.
documents-deposes = Mes documents déposés
documents-rien-depose = Vous n'avez encore rien déposé.
documents-depose-le = Déposé le { $date }
documents-ajoute-le = Ajouté le { $date }
documents-supprimer = Supprimer pour toujours
documents-aucun = Aucun document pour le moment.
documents-copie = Faire une copie vérifiable
documents-telecharger = Télécharger
# $utilise: megabytes used (1,5); $max: megabytes allowed; $nombre: the
# documents deposited; $fichiers: the most allowed.
place-utilisee = Place utilisée : { $utilise } Mo sur { $max } Mo, { $nombre } document(s) sur { $fichiers }.
place-limitee = Tant qu'aucune institution n'est reliée à votre coffre, la place est limitée ; une fois relié, vous aurez jusqu'à { $max } Mo.
document-indisponible = Document indisponible
document-revenir = Revenir à mes documents
copie-impossible = La copie n'a pas pu être faite. Réessayez plus tard.

## Depositing a document
# $max: the largest file, in megabytes.

depot-titre = Ajouter un document
depot-fichier = Le fichier (PDF ou photo, { $max } Mo au plus)
depot-type = C'est quoi ?
depot-bouton = Déposer
depot-chiffre = Vos documents déposés sont chiffrés avec une clé que seul votre mot de passe (ou votre code de secours) ouvre : personne d'autre ne peut les lire, pas même la plateforme.
depot-formulaire-trop-long = Le formulaire envoyé est trop long. Réessayez depuis cette page.
depot-interrompu = L'envoi a été interrompu. Réessayez.
depot-trop-gros = Le fichier est trop gros. La limite est de { $max } Mo : prenez une photo moins lourde ou scannez en PDF.
depot-choisir-fichier = Choisissez un fichier.
depot-disque-plein = Le serveur manque d'espace disque : le document n'a pas été enregistré. Réessayez plus tard.
depot-non-enregistre = Le document n'a pas pu être enregistré. Réessayez plus tard.
depot-illisible = Ce document ne peut pas être ouvert.
depot-supprime = Le document est supprimé.
depot-non-supprime = Le document n'a pas pu être supprimé. Réessayez plus tard.

## Linking an institution

lien-titre = Relier une institution
lien-montrez = Montrez ce code au professionnel de l'institution (CAF, France Travail, Conseil départemental…).
lien-code-nom = code à montrer
# $date: when the code expires (see date-heure-mayotte).
coffre-lien-une-fois = Il sert une seule fois, jusqu'au { $date }.
lien-en-attente = Vous pouvez avoir { $max } codes en attente au plus : un code qui n'a pas servi s'efface tout seul quand il expire.
lien-pseudonyme = L'institution ne reçoit pas votre identifiant : seulement un numéro qui ne sert qu'à elle.
lien-non-cree = Le code n'a pas pu être créé. Réessayez plus tard.

## Sharing: consents given to professionals
# $institution: an institution's name; $date: a date and time.

partage-titre = Partager mes documents
partage-mes-autorisations = Mes autorisations
partage-aucune = Vous n'avez donné aucune autorisation.
partage-retirer-quand = Vous pouvez retirer une autorisation à tout moment. Chaque consultation est notée dans « Qui a vu mes documents ».
# $max: documents or kinds of document in one consent; $actives: consents
# running at once.
partage-limites = Une autorisation porte sur { $max } documents ou types de document au plus ; vous pouvez avoir { $actives } autorisations en cours au plus.
partage-tous-les-pros = Tous les professionnels de : { $institution }
partage-col-qui = Qui
partage-col-quoi = Quoi
partage-col-pour = Pour
partage-col-jusqu-au = Jusqu'au
partage-col-etat = État
partage-retiree-le = Retirée le { $date }
partage-terminee = Terminée
partage-retirer = Retirer
partage-donner = Donner une autorisation
partage-quels-documents = Quels documents ?
partage-par-type = Ou tous mes documents de ce type :
partage-avec-qui = Avec qui ?
partage-demarche = Pour quelle démarche ?
partage-autre-demarche = Autre démarche
partage-autre-demarche-champ = Autre démarche (écrivez-la)
partage-jusqu-a-quand = Jusqu'à quand ?
partage-fin-aide = L'autorisation vaut jusqu'à la fin de ce jour (minuit, heure de Mayotte).
partage-donner-bouton = Donner l'autorisation
partage-choisir-qui = Choisissez avec qui partager.
partage-choisir-fin = Choisissez une date de fin.
partage-donnee = L'autorisation est donnée.
partage-non-enregistree = L'autorisation n'a pas pu être enregistrée. Réessayez plus tard.
partage-retiree = L'autorisation est retirée. Plus personne ne peut l'utiliser.
partage-non-retiree = L'autorisation n'a pas pu être retirée. Réessayez.

## The journal: who saw my documents
# $detail: what the entry is about (a document's name, a consent), as
# recorded.

journal-intro = Tout ce qui touche à vos documents est noté ici, et ne peut pas être effacé.
journal-col-quand = Quand
journal-col-qui = Qui
journal-col-quoi = Quoi
journal-col-demarche = Pour quelle démarche
journal-vous = Vous
journal-liste = a regardé la liste de vos documents ({ $detail })
journal-ouvert = a ouvert : { $detail }
journal-refuse = accès refusé ou impossible : { $detail }
journal-autorisation-donnee = autorisation donnée : { $detail }
journal-autorisation-retiree = autorisation retirée : { $detail }
journal-copie = copie vérifiable faite : { $detail }
journal-depot = document déposé : { $detail }
journal-suppression = document supprimé : { $detail }
journal-lien = a relié votre dossier à votre coffre
journal-compte-cree = compte créé
journal-mot-de-passe = mot de passe changé
journal-export = a téléchargé tout le coffre
journal-code-donne = a donné un code pour changer le mot de passe
journal-code-refuse = n'a pas pu obtenir de code pour changer le mot de passe
journal-document-ajoute = document ajouté : { $detail }
journal-document-retire = document retiré : { $detail }

## Kinds of document (the same as the protocol's labels)

categorie-identity = Identité
categorie-address = Justificatif de domicile
categorie-resources = Ressources
categorie-social-rights = Attestation de droits sociaux
categorie-employment = Emploi
categorie-health-insurance = Assurance maladie
categorie-housing = Logement
categorie-family = Famille
categorie-education = Formation
categorie-other = Autre

## Procedures a consent is given for

demarche-rsa = Revenu de solidarité active (RSA)
demarche-logement = Demande de logement social
demarche-handicap = Dossier handicap (MDPH)
demarche-emploi = Inscription ou accompagnement vers l'emploi
demarche-famille = Prestations familiales
demarche-sante = Complémentaire santé solidaire
demarche-formation = Entrée en formation
demarche-domiciliation = Domiciliation administrative

## The vault's refusals of a login or a password (the same sentences as
## in passerelle-vault, which the tests compare)

compte-email-invalide = Cette adresse e-mail n'est pas valide.
compte-identifiant-invalide = Tapez un numéro de téléphone à 10 chiffres (par exemple 0639 12 34 56) ou une adresse e-mail.
compte-mot-de-passe-court = Le mot de passe doit avoir au moins 8 caractères.
compte-mots-de-passe-differents = Les deux mots de passe ne sont pas identiques.

## Signing in with FranceConnect (or another provider)
# $fournisseur: the provider's name as the operator configured it (for
# example "FranceConnect").

oidc-me-connecter-avec = Me connecter avec { $fournisseur }
oidc-continuer = Continuer
oidc-connexion = Connexion
oidc-avec-mot-de-passe = Me connecter avec mon mot de passe
oidc-echec = La connexion n'a pas abouti. Recommencez, ou connectez-vous avec votre mot de passe.
oidc-titre = Me connecter avec FranceConnect
oidc-deja-relie = { $fournisseur } est relié à votre coffre. Sur cet appareil, vous pouvez vous connecter avec { $fournisseur }.
oidc-reliez = Reliez { $fournisseur } à votre coffre : vous pourrez ensuite vous connecter avec { $fournisseur } sur cet appareil.
oidc-relier = Relier { $fournisseur }
oidc-autre-appareil = Sur un autre appareil, tapez une fois votre mot de passe : la connexion avec FranceConnect suffira ensuite sur cet appareil. Votre mot de passe et votre code de secours restent valables.
oidc-injoignable = Le service de connexion ne répond pas. Réessayez plus tard.
oidc-compte-inconnu = Ce compte n'est relié à aucun coffre. Connectez-vous avec votre mot de passe, puis reliez-le depuis votre coffre.
oidc-nouvel-appareil = Sur ce nouvel appareil, connectez-vous une fois avec votre mot de passe (ou votre code de secours) : ensuite, la connexion avec FranceConnect suffira ici.
oidc-connecte = Vous êtes connecté.
oidc-relie = { $fournisseur } est relié à votre coffre.
journal-preferences = a changé ses choix d'avis et de connexion
menu-compte = Mon compte
compte-recevoir-code = Recevoir un code
compte-creer-code = Nous allons envoyer un code à votre téléphone (par SMS) ou à votre adresse e-mail, pour vérifier qu'ils sont bien à vous. Ensuite, vous choisirez votre mot de passe.
compte-creer-au-guichet = Pas de téléphone ni d'adresse e-mail ? Un professionnel d'une institution partenaire peut créer votre compte au guichet.
